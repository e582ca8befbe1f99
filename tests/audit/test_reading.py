"""Reading the audit log: workspace admins see their workspace's entries only, platform admins
all; filters, pages and the CSV download; the console pages."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEntry
from tests.audit.conftest import World

pytestmark = pytest.mark.django_db

ENTRIES = "/api/v1/audit/entries/"


def entry(world: World, action: str, workspace: str, actor: str = "alice", **extra: object) -> None:
    ws = {"acme": world.acme, "globex": world.globex}.get(workspace)
    AuditEntry.objects.create(
        actor_kind="user",
        actor_name=actor,
        channel="api",
        action=action,
        object_type=action.split(".")[0],
        object_repr=extra.pop("object_repr", "thing"),
        workspace_id=ws.pk if ws else None,
        workspace_name=workspace,
        result="success",
        **extra,
    )


@pytest.fixture
def entries(world: World) -> None:
    entry(world, "builder.create", "acme", object_repr="hello")
    entry(world, "builder.delete", "acme", actor="walt", object_repr="old")
    entry(world, "secret.update", "acme", object_repr='=HYPERLINK("http://x")')
    entry(world, "project.create", "globex", actor="gina", object_repr="globex-lab")
    entry(world, "environment.create", "", actor="root", object_repr="company-jre")
    long_ago = timezone.now() - timedelta(days=40)
    entry(world, "builder.create", "acme", object_repr="ancient", created_at=long_ago)


def seen(world: World, persona: str, query: str = "") -> list[str]:
    response = world.client(persona).get(ENTRIES + query)
    assert response.status_code == 200, response.content
    return [row["object_repr"] for row in response.json()["results"]]


def test_workspace_admins_see_only_their_workspace(world: World, entries: None) -> None:
    acme = {"hello", "old", '=HYPERLINK("http://x")', "ancient"}
    assert set(seen(world, "alice")) == acme
    assert set(seen(world, "alice", "?workspace=acme")) == acme
    assert set(seen(world, "gina")) == {"globex-lab"}
    assert world.client("gina").get(ENTRIES + "?workspace=acme").status_code == 404
    assert world.client("walt").get(ENTRIES).status_code == 403  # a member, not an admin
    assert world.client("walt").get(ENTRIES + "?workspace=acme").status_code == 403
    assert len(seen(world, "root")) == 6  # platform admins: every entry, also of no workspace


def test_filters_by_user_action_object_and_time(world: World, entries: None) -> None:
    assert seen(world, "alice", "?user=walt") == ["old"]
    assert set(seen(world, "alice", "?action=builder")) == {"hello", "old", "ancient"}
    assert seen(world, "alice", "?action=builder.delete") == ["old"]
    assert seen(world, "alice", "?object=hell") == ["hello"]
    since = (timezone.now() - timedelta(days=2)).date().isoformat()
    assert "ancient" not in seen(world, "alice", f"?since={since}")
    until = (timezone.now() - timedelta(days=30)).date().isoformat()
    assert seen(world, "alice", f"?until={until}") == ["ancient"]
    bad = world.client("alice").get(ENTRIES + "?since=yesterday")
    assert (bad.status_code, bad.json()["code"]) == (400, "audit:bad-time")


def test_entries_come_in_pages(world: World) -> None:
    for number in range(25):
        entry(world, "builder.update", "acme", object_repr=f"b{number}")
    first = world.client("alice").get(ENTRIES + "?limit=10").json()
    assert (first["count"], len(first["results"])) == (25, 10)
    assert first["results"][0]["object_repr"] == "b24"  # newest first
    assert world.client("alice").get(ENTRIES + "?limit=10&offset=20").json()["results"][-1][
        "object_repr"
    ] == ("b0")


def test_csv_download_is_scoped_and_neutralises_formulas(world: World, entries: None) -> None:
    response = world.client("alice").get("/api/v1/audit/entries.csv?workspace=acme")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert {row["object_repr"] for row in rows} == {
        "hello",
        "old",
        '\'=HYPERLINK("http://x")',
        "ancient",
    }
    assert world.client("gina").get("/api/v1/audit/entries.csv?workspace=acme").status_code == 404


def test_the_audit_pages_follow_the_same_rules(world: World, entries: None) -> None:
    pages = {}
    for persona in ("alice", "gina", "walt", "root"):
        browser = Client()
        browser.force_login(world.users[persona])
        pages[persona] = browser
    page = pages["alice"].get("/workspaces/acme/audit/?action=builder")
    assert page.status_code == 200
    text = page.content.decode()
    assert "hello" in text and "ancient" in text and "globex-lab" not in text
    assert "company-jre" not in text
    assert "/api/v1/audit/entries.csv?workspace=acme&amp;action=builder" in text
    assert pages["gina"].get("/workspaces/acme/audit/").status_code == 404
    assert pages["walt"].get("/workspaces/acme/audit/").status_code == 403
    assert pages["alice"].get("/audit/").status_code == 403
    everything = pages["root"].get("/audit/")
    assert everything.status_code == 200
    assert "company-jre" in everything.content.decode()
    assert (
        'href="/workspaces/acme/audit/"' in pages["alice"].get("/workspaces/acme/").content.decode()
    )
    assert (
        'href="/workspaces/acme/audit/"'
        not in pages["walt"].get("/workspaces/acme/").content.decode()
    )


def test_csv_has_the_columns_of_an_entry_in_the_json_list(world: World, entries: None) -> None:
    listed = world.client("alice").get(ENTRIES + "?workspace=acme").json()["results"]
    response = world.client("alice").get("/api/v1/audit/entries.csv?workspace=acme")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert list(rows[0]) == list(listed[0])
    by_id = {row["id"]: row for row in rows}
    for entry in listed:
        assert by_id[str(entry["id"])]["token_id"] == (
            "" if entry["token_id"] is None else str(entry["token_id"])
        )
