"""Console pages render for the right people: shell, navigation, role-dependent controls, 404/403.

These run with Django's test client (fast); the browser tests drive the same pages in Chromium.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from projects.models import (
    Project,
    ProjectMembership,
    ProjectRole,
    Workspace,
    WorkspaceMembership,
    WorkspaceRole,
)

pytestmark = pytest.mark.django_db

PAGES = [
    "",
    "services/",
    "services/create/",
    "services/create/jar/",
    "deployments/",
    "statefulsets/",
    "jobs/",
    "imagebuilders/",
    "imagebuilders/create/",
    "secrets/",
    "members/",
]
CREATE_PAGES = {"services/create/", "services/create/jar/", "imagebuilders/create/"}


@pytest.fixture
def tenancy() -> dict[str, object]:
    users = get_user_model().objects
    # No passwords: the client signs in with force_login, and hashing would cost ~0.3 s each.
    alice = users.create_user("alice")  # workspace admin
    bob = users.create_user("bob")  # project viewer
    charlie = users.create_user("charlie")  # not a member
    ws = Workspace.objects.create(name="team", creator=alice)
    project = Project.objects.create(workspace=ws, name="shop", creator=alice)
    WorkspaceMembership.objects.create(workspace=ws, user=alice, role=WorkspaceRole.ADMIN)
    ProjectMembership.objects.create(project=project, user=bob, role=ProjectRole.VIEWER)
    return {"alice": alice, "bob": bob, "charlie": charlie, "project": project}


def client_for(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = client.get("/workspaces/team/projects/shop/imagebuilders/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("page", PAGES)
def test_project_admin_sees_every_project_page_with_its_navigation(
    tenancy: dict[str, object], page: str
) -> None:
    response = client_for(tenancy["alice"]).get(f"/workspaces/team/projects/shop/{page}")
    assert response.status_code == 200, response.content[:300]
    html = response.content.decode()
    for nav in ("Overview", "Services", "Image Builders", "Secrets", "Members", "Jobs"):
        assert f">{nav}</a>" in html
    assert '"operate": true' in html


@pytest.mark.parametrize("page", sorted(set(PAGES) - CREATE_PAGES))
def test_viewer_sees_pages_without_create_controls(tenancy: dict[str, object], page: str) -> None:
    response = client_for(tenancy["bob"]).get(f"/workspaces/team/projects/shop/{page}")
    assert response.status_code == 200
    html = response.content.decode()
    assert '"operate": false' in html
    for control in ('id="create-secret"', 'id="invite-member"', "Create Service from Artifact"):
        assert control not in html


@pytest.mark.parametrize("page", sorted(CREATE_PAGES))
def test_viewer_is_refused_create_pages(tenancy: dict[str, object], page: str) -> None:
    response = client_for(tenancy["bob"]).get(f"/workspaces/team/projects/shop/{page}")
    assert response.status_code == 403
    assert "Your role does not allow this" in response.content.decode()


def test_outsider_gets_404_for_a_project_they_cannot_see(tenancy: dict[str, object]) -> None:
    response = client_for(tenancy["charlie"]).get("/workspaces/team/projects/shop/")
    assert response.status_code == 404


def test_unknown_builder_and_artifact_kind_answer_404(tenancy: dict[str, object]) -> None:
    client = client_for(tenancy["alice"])
    assert client.get("/workspaces/team/projects/shop/imagebuilders/nope/").status_code == 404
    assert client.get("/workspaces/team/projects/shop/services/create/zip/").status_code == 404


def test_home_leads_to_workspaces_and_lists_the_switcher(tenancy: dict[str, object]) -> None:
    client = client_for(tenancy["alice"])
    assert client.get("/")["Location"] == "/workspaces/"
    html = client.get("/workspaces/").content.decode()
    assert '<option value="team"' in html


def test_chinese_is_chosen_with_the_language_cookie(tenancy: dict[str, object]) -> None:
    client = client_for(tenancy["alice"])
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/workspaces/"})
    html = client.get("/workspaces/team/projects/shop/imagebuilders/").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "镜像构建器" in html


@pytest.mark.parametrize(
    "page",
    [
        "services/",
        "services/create/",
        "services/create/jar/",
        "deployments/",
        "statefulsets/",
        "jobs/",
    ],
)
def test_cluster_pages_say_up_front_when_no_cluster_is_configured(
    tenancy: dict[str, object], page: str
) -> None:
    from workloads.models import Cluster

    url = f"/workspaces/team/projects/shop/{page}"
    assert 'data-testid="no-cluster"' in client_for(tenancy["alice"]).get(url).content.decode()

    Cluster.objects.create(in_cluster=True)
    assert 'data-testid="no-cluster"' not in client_for(tenancy["alice"]).get(url).content.decode()


def test_other_pages_carry_no_cluster_notice(tenancy: dict[str, object]) -> None:
    html = client_for(tenancy["alice"]).get("/workspaces/team/projects/shop/imagebuilders/")
    assert 'data-testid="no-cluster"' not in html.content.decode()


def test_tokens_page_shows_the_authorization_header_with_its_placeholder(
    tenancy: dict[str, object],
) -> None:
    html = client_for(tenancy["alice"]).get("/account/tokens/").content.decode()
    # Escaped: a raw <token> is an unknown element to the browser, and the text vanished.
    assert "Authorization: Token &lt;token&gt;</code>" in html
    assert "<token>" not in html


def test_pages_have_a_favicon(tenancy: dict[str, object]) -> None:
    client = client_for(tenancy["alice"])
    html = client.get("/workspaces/").content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert icon, "no icon link"
    answer = client.get(icon.group(1))
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("image/svg+xml")
    # Pages without the link (the admin, the API browser) make browsers ask for /favicon.ico.
    assert client.get("/favicon.ico", follow=True).redirect_chain[-1][0] == icon.group(1)
