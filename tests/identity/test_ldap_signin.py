"""Sign-in through a real LDAP directory: users created and synced, groups mapped to roles."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from identity.models import ExternalIdentity, GroupRoleMapping, MappedGrant
from projects import access
from projects.models import Project, ProjectMembership, Workspace, WorkspaceMembership
from tests.fixtures.hung_server import HungServer, running
from tests.fixtures.ldap_server import write_tls_files
from tests.fixtures.processes import free_port
from tests.identity.conftest import PASSWORD, Directory, directory_environment, use_directory


def sign_in(client: Client, username: str, password: str = PASSWORD, ip: str = "10.1.0.1") -> str:
    response = client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)
    assert response.status_code in (200, 302, 429)
    return response.content.decode() if response.status_code != 302 else ""


def signed_in_as(client: Client) -> User | None:
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


@pytest.fixture
def world(db: None) -> tuple[Workspace, Project]:
    creator = User.objects.create_user("creator")
    workspace = Workspace.objects.create(name="payments", creator=creator)
    WorkspaceMembership.objects.create(workspace=workspace, user=creator, role="workspace-admin")
    project = Project.objects.create(name="checkout", workspace=workspace, creator=creator)
    return workspace, project


def test_first_sign_in_creates_the_user_with_directory_attributes(directory: Directory) -> None:
    uid = directory.new_user("Dana", "Reyes")
    client = Client()
    assert sign_in(client, uid) == ""
    user = signed_in_as(client)
    assert user is not None and user.username == uid
    assert (user.first_name, user.last_name, user.email) == ("Dana", "Reyes", f"{uid}@corp.example")
    assert not user.has_usable_password()  # the directory keeps the password, not the console
    identity = ExternalIdentity.objects.get(user=user)
    assert identity.subject == f"uid={uid},ou=people,dc=b2i,dc=test"


def test_attributes_are_synced_at_each_sign_in(directory: Directory) -> None:
    uid = directory.new_user("Omar", "Haddad")
    sign_in(Client(), uid)
    directory.server.modify_user(uid, "mail", "omar.haddad@corp.example")
    directory.server.modify_user(uid, "sn", "Haddad-Smith")
    sign_in(Client(), uid)
    user = User.objects.get(username=uid)
    assert (user.last_name, user.email) == ("Haddad-Smith", "omar.haddad@corp.example")


def test_wrong_directory_password_is_refused_with_the_usual_message(directory: Directory) -> None:
    uid = directory.new_user()
    client = Client()
    page = sign_in(client, uid, "not the password")
    assert "didn&#x27;t match" in page or "didn't match" in page
    assert signed_in_as(client) is None


def test_groups_map_to_platform_workspace_and_project_roles(
    directory: Directory, world: tuple[Workspace, Project]
) -> None:
    workspace, project = world
    uid = directory.new_user()
    admins, devs, ops = directory.new_group(uid), directory.new_group(uid), directory.new_group(uid)
    GroupRoleMapping.objects.create(
        provider="ldap", group=admins.upper(), platform_role="platform-self-provisioner"
    )
    GroupRoleMapping.objects.create(
        provider="ldap", group=devs, workspace=workspace, role="workspace-regular"
    )
    GroupRoleMapping.objects.create(provider="ldap", group=ops, project=project, role="operator")
    client = Client()
    sign_in(client, uid)
    user = User.objects.get(username=uid)
    assert access.can_create_workspace(user)  # group names compare ignoring case
    assert access.workspace_role(user, workspace) == "workspace-regular"
    assert access.project_role(user, project) == "operator"
    assert list(access.visible_workspaces(user)) == [workspace]


def test_leaving_a_group_revokes_its_role_at_the_next_sign_in_but_not_hand_given_roles(
    directory: Directory, world: tuple[Workspace, Project]
) -> None:
    workspace, project = world
    uid = directory.new_user()
    devs = directory.new_group(uid)
    GroupRoleMapping.objects.create(
        provider="ldap", group=devs, workspace=workspace, role="workspace-viewer"
    )
    sign_in(Client(), uid)
    user = User.objects.get(username=uid)
    assert access.workspace_role(user, workspace) == "workspace-viewer"
    ProjectMembership.objects.create(project=project, user=user, role="admin")  # by hand

    directory.server.set_group_members(devs)  # the directory admin removes them
    sign_in(Client(), uid)
    assert not WorkspaceMembership.objects.filter(workspace=workspace, user=user).exists()
    assert not MappedGrant.objects.filter(user=user).exists()
    # remove_workspace_member also ends the workspace's project memberships: as a manual
    # removal from the workspace would.
    assert not ProjectMembership.objects.filter(project=project, user=user).exists()


def test_a_hand_given_role_is_never_changed_or_revoked_by_a_mapping(
    directory: Directory, world: tuple[Workspace, Project]
) -> None:
    workspace, _ = world
    uid = directory.new_user()
    viewers = directory.new_group(uid)
    GroupRoleMapping.objects.create(
        provider="ldap", group=viewers, workspace=workspace, role="workspace-viewer"
    )
    sign_in(Client(), uid)
    user = User.objects.get(username=uid)
    membership = WorkspaceMembership.objects.get(workspace=workspace, user=user)
    MappedGrant.objects.filter(user=user).delete()  # as if an admin had made them a member
    membership.role = "workspace-admin"
    membership.save()
    directory.server.set_group_members(viewers)
    sign_in(Client(), uid)
    assert WorkspaceMembership.objects.get(workspace=workspace, user=user).role == "workspace-admin"


def test_platform_admin_by_group_and_revoked_when_removed(directory: Directory) -> None:
    uid = directory.new_user()
    admins = directory.new_group(uid)
    GroupRoleMapping.objects.create(provider="ldap", group=admins, platform_role="platform-admin")
    sign_in(Client(), uid)
    assert User.objects.get(username=uid).is_superuser
    directory.server.set_group_members(admins)
    sign_in(Client(), uid)
    assert not User.objects.get(username=uid).is_superuser


def test_open_sessions_lose_roles_and_end_within_the_recheck_time(
    directory: Directory, world: tuple[Workspace, Project], settings: object
) -> None:
    workspace, _ = world
    uid = directory.new_user()
    devs = directory.new_group(uid)
    GroupRoleMapping.objects.create(
        provider="ldap", group=devs, workspace=workspace, role="workspace-regular"
    )
    client = Client()
    sign_in(client, uid)
    assert client.get("/api/v1/workspaces/payments/").status_code == 200
    settings.B2I_IDENTITY_RECHECK_SECONDS = 1  # type: ignore[attr-defined]

    directory.server.set_group_members(devs)
    time.sleep(1.1)  # the recheck interval itself is what is under test
    assert client.get("/api/v1/workspaces/payments/").status_code == 404
    assert signed_in_as(client) is not None  # still in the directory: still signed in

    directory.server.delete_user(uid)
    time.sleep(1.1)
    response = client.get("/api/v1/workspaces/")
    assert response.status_code in (401, 403)
    assert signed_in_as(client) is None


def test_local_accounts_still_sign_in_beside_the_directory(directory: Directory) -> None:
    User.objects.create_user("localadmin", password="local password 9")
    client = Client()
    assert sign_in(client, "localadmin", "local password 9") == ""
    assert signed_in_as(client) is not None


def test_local_accounts_can_be_switched_off(directory: Directory, settings: object) -> None:
    settings.AUTHENTICATION_BACKENDS = [  # type: ignore[attr-defined]
        "axes.backends.AxesStandaloneBackend",
        "identity.ldap_signin.DirectoryBackend",
        "identity.ldap_signin.PermissionsOnlyBackend",
    ]
    User.objects.create_user("localadmin", password="local password 9")
    client = Client()
    sign_in(client, "localadmin", "local password 9")
    assert signed_in_as(client) is None
    uid = directory.new_user()
    sign_in(client, uid)
    assert signed_in_as(client) is not None


def test_lock_out_applies_to_directory_sign_ins(directory: Directory) -> None:
    uid = directory.new_user()
    client = Client()
    for _ in range(4):
        sign_in(client, uid, "wrong", ip="10.9.9.9")
    response = client.post(
        "/login/", {"username": uid, "password": "wrong"}, REMOTE_ADDR="10.9.9.9"
    )
    assert response.status_code == 429
    response = client.post(
        "/login/", {"username": uid, "password": PASSWORD}, REMOTE_ADDR="10.9.9.9"
    )
    assert response.status_code == 429
    assert signed_in_as(client) is None


def test_an_unreachable_directory_is_told_apart_from_a_wrong_password_within_seconds(
    directory: Directory, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:

    uid = directory.new_user()
    with running(HungServer()) as hung:  # accepts the connection, never answers: the worst outage
        env = directory_environment(directory.server, B2I_LDAP_SERVER_URI=f"ldap://{hung.host}")
        use_directory(settings, monkeypatch, env)
        started = time.monotonic()
        response = Client().post(
            "/login/", {"username": uid, "password": PASSWORD}, REMOTE_ADDR="10.3.0.1"
        )
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert "could not be reached" in response.content.decode()
    assert elapsed < 3 * 3 + 5  # B2I_LDAP_TIMEOUT=3 bounds each wait (connect, StartTLS, bind)


def test_a_closed_directory_port_gives_the_unreachable_message(
    directory: Directory, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:

    env = directory_environment(
        directory.server, B2I_LDAP_SERVER_URI=f"ldap://127.0.0.1:{free_port()}"
    )
    use_directory(settings, monkeypatch, env)
    response = Client().post(
        "/login/", {"username": "anyone", "password": "x"}, REMOTE_ADDR="10.3.0.2"
    )
    assert response.status_code == 200
    assert "could not be reached" in response.content.decode()


def test_starttls_refuses_a_server_certificate_the_ca_file_does_not_vouch_for(
    directory: Directory, settings: object, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:

    other_ca, _ = write_tls_files(tmp_path)
    uid = directory.new_user()
    env = directory_environment(directory.server, B2I_LDAP_CA_FILE=str(other_ca))
    use_directory(settings, monkeypatch, env)
    client = Client()
    response = client.post(
        "/login/", {"username": uid, "password": PASSWORD}, REMOTE_ADDR="10.3.0.3"
    )
    assert signed_in_as(client) is None
    assert "could not be reached" in response.content.decode()


def test_each_role_a_mapping_grants_or_revokes_is_audited_once(
    directory: Directory, world: tuple[Workspace, Project]
) -> None:
    from audit.models import AuditEntry

    workspace, _ = world
    uid = directory.new_user()
    devs = directory.new_group(uid)
    GroupRoleMapping.objects.create(
        provider="ldap", group=devs, workspace=workspace, role="workspace-regular"
    )
    sign_in(Client(), uid)
    sign_in(Client(), uid)  # nothing changed: nothing recorded
    directory.server.set_group_members(devs)
    sign_in(Client(), uid)
    entries = AuditEntry.objects.filter(object_repr=uid).order_by("id")
    assert [(e.action, e.workspace_name, e.detail["role"]) for e in entries] == [
        ("role.grant", "payments", "workspace-regular"),
        ("role.revoke", "payments", "workspace-regular"),
    ]
    assert entries[0].actor_name == "ldap group mapping"
