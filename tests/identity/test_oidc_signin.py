"""Sign-in through a real OpenID Connect provider (node oidc-provider): code flow with PKCE."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client

from b2i_console.oidc_settings import oidc_settings
from identity.models import ExternalIdentity, GroupRoleMapping
from identity.oidc_discovery import forget_provider_metadata
from projects import access
from projects.models import Workspace, WorkspaceMembership
from tests.fixtures.oidc_provider import CLIENT_ID, CLIENT_SECRET, OidcProvider
from tests.fixtures.processes import free_port


def use_provider(settings: Any, monkeypatch: pytest.MonkeyPatch, issuer: str, **env: str) -> None:
    values = {
        "B2I_OIDC_ISSUER": issuer,
        "B2I_OIDC_CLIENT_ID": CLIENT_ID,
        "B2I_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "B2I_OIDC_LABEL": "Corp SSO",
        "B2I_OIDC_TIMEOUT": "3",
        **env,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    for name, value in oidc_settings().items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "identity.oidc_signin.ProviderBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    forget_provider_metadata()


@pytest.fixture
def provider(
    oidc_provider: OidcProvider, settings: Any, monkeypatch: pytest.MonkeyPatch, db: None
) -> OidcProvider:
    use_provider(settings, monkeypatch, oidc_provider.issuer)
    return oidc_provider


def single_sign_on(client: Client, provider: OidcProvider, login: str, next_url: str = "") -> Any:
    start = client.get("/oidc/authenticate/" + (f"?next={next_url}" if next_url else ""))
    assert start.status_code == 302, start
    back = provider.sign_in(start["Location"], login)
    parts = urlsplit(back)
    assert parts.path == "/oidc/callback/", back
    return client.get(parts.path, parse_qs(parts.query))


def signed_in_user(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_the_sign_in_page_offers_the_provider_with_its_label(provider: OidcProvider) -> None:
    page = Client().get("/login/").content.decode()
    assert "Sign in with Corp SSO" in page
    assert 'href="/oidc/authenticate/"' in page


def test_the_authorization_request_carries_state_nonce_and_a_pkce_challenge(
    provider: OidcProvider,
) -> None:
    start = Client().get("/oidc/authenticate/")
    query = parse_qs(urlsplit(start["Location"]).query)
    assert start["Location"].startswith(provider.issuer)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 32 and len(query["nonce"][0]) >= 32


def test_sign_in_creates_the_user_matched_by_issuer_and_subject_and_maps_groups(
    provider: OidcProvider,
) -> None:
    creator = User.objects.create_user("creator")
    workspace = Workspace.objects.create(name="mobile", creator=creator)
    GroupRoleMapping.objects.create(
        provider="oidc", group="mobile-devs", workspace=workspace, role="workspace-regular"
    )
    provider.set_account("erin", groups=["mobile-devs"], given_name="Erin", family_name="Cho")
    client = Client()
    response = single_sign_on(client, provider, "erin")
    assert response.status_code == 302 and response["Location"] == "/"
    user = signed_in_user(client)
    assert user is not None and user.username == "erin"
    assert (user.first_name, user.last_name, user.email) == ("Erin", "Cho", "erin@sso.example")
    assert ExternalIdentity.objects.get(user=user).subject == "erin"
    assert access.workspace_role(user, workspace) == "workspace-regular"
    assert 0 < client.session.get_expiry_age() <= 8 * 3600  # bounded: groups re-read at sign-in

    provider.set_account("erin", groups=[])
    single_sign_on(Client(), provider, "erin")
    assert not WorkspaceMembership.objects.filter(workspace=workspace, user=user).exists()


def test_a_local_user_with_the_same_name_is_never_taken_over(provider: OidcProvider) -> None:
    local = User.objects.create_user("frank", email="frank@sso.example", password="local pass 1")
    provider.set_account("frank", groups=[])
    client = Client()
    single_sign_on(client, provider, "frank")
    user = signed_in_user(client)
    assert user is not None and user.pk != local.pk and user.username == "frank-2"


def test_a_verified_email_matches_a_local_user_only_when_configured(
    provider: OidcProvider, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_provider(settings, monkeypatch, provider.issuer, B2I_OIDC_MATCH_VERIFIED_EMAIL="true")
    local = User.objects.create_user("gina.local", email="gina@sso.example")
    provider.set_account("gina", groups=[], email_verified=False)
    client = Client()
    single_sign_on(client, provider, "gina")
    assert signed_in_user(client) != local  # not verified: a new user
    provider.set_account("hank", groups=[], email="hank@sso.example")
    hank = User.objects.create_user("hank.local", email="hank@sso.example")
    client = Client()
    single_sign_on(client, provider, "hank")
    assert signed_in_user(client) == hank


def test_a_forged_state_is_refused(provider: OidcProvider) -> None:
    client = Client()
    provider.set_account("ivan", groups=[])
    start = client.get("/oidc/authenticate/")
    back = urlsplit(provider.sign_in(start["Location"], "ivan"))
    query = {key: values[0] for key, values in parse_qs(back.query).items()}
    query["state"] = "x" * 32
    response = client.get(back.path, query)
    assert response.status_code in (302, 400)
    assert signed_in_user(client) is None


def test_an_unreachable_provider_sends_the_browser_back_with_a_message(
    provider: OidcProvider, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_provider(settings, monkeypatch, f"http://127.0.0.1:{free_port()}")
    client = Client()
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302 and response["Location"] == "/login/?sso=unreachable"
    page = client.get(response["Location"]).content.decode()
    assert "could not be reached" in page
    # Local sign-in goes on working while the provider is away.
    User.objects.create_user("local", password="local pass 22")
    response = client.post("/login/", {"username": "local", "password": "local pass 22"})
    assert response.status_code == 302 and signed_in_user(client) is not None


def test_sign_out_also_ends_the_provider_session(provider: OidcProvider) -> None:
    provider.set_account("judy", groups=[])
    client = Client()
    single_sign_on(client, provider, "judy")
    response = client.post("/logout/")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}" == provider.issuer
    query = parse_qs(location.query)
    assert query["post_logout_redirect_uri"] == ["http://testserver/login/"]
    assert query["id_token_hint"][0].count(".") == 2
    assert signed_in_user(client) is None


def test_without_a_provider_the_routes_answer_404(db: None) -> None:
    assert Client().get("/oidc/authenticate/").status_code == 404
    assert "Sign in with" not in Client().get("/login/").content.decode()
