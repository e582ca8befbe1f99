"""Personal API tokens: shown once, stored hashed, authenticate, revocable by their owner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from projects.authentication import create_api_token
from projects.models import ApiToken
from tests.projects.conftest import World


def bearer(raw: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api


def create_token(world: World, persona: str = "bob", **extra: object) -> dict[str, object]:
    response = world.client(persona).post("/api/v1/tokens/", {"name": "ci", **extra}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_token_is_shown_once_and_stored_only_hashed(world: World) -> None:
    created = create_token(world)
    raw = str(created["token"])
    assert raw.startswith("b2i_") and len(raw) > 40
    stored = ApiToken.objects.get(pk=created["id"])
    assert raw not in (stored.token_hash, stored.prefix)
    assert raw.startswith(stored.prefix)
    listing = world.client("bob").get("/api/v1/tokens/").json()
    assert listing["count"] == 1
    assert "token" not in listing["results"][0]


def test_token_authenticates_as_its_owner_with_their_permissions(world: World) -> None:
    raw = str(create_token(world, "charlie")["token"])
    api = bearer(raw)
    assert api.get("/api/v1/me/").json()["username"] == "charlie"
    assert api.get("/api/v1/workspaces/acme/projects/shop/").status_code == 200
    # charlie is a viewer: still 403 on writes through a token
    response = api.patch("/api/v1/workspaces/acme/projects/shop/", {"alias": "x"}, format="json")
    assert response.status_code == 403
    assert ApiToken.objects.get().last_used_at is not None


def test_revoked_token_no_longer_authenticates(world: World) -> None:
    created = create_token(world)
    assert world.client("bob").delete(f"/api/v1/tokens/{created['id']}/").status_code == 204
    response = bearer(str(created["token"])).get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "auth:failed"


def test_users_cannot_see_or_revoke_each_others_tokens(world: World) -> None:
    created = create_token(world, "bob")
    assert world.client("charlie").get("/api/v1/tokens/").json()["count"] == 0
    assert world.client("charlie").delete(f"/api/v1/tokens/{created['id']}/").status_code == 404
    assert ApiToken.objects.filter(pk=created["id"]).exists()


def test_expired_token_is_refused_with_a_clear_message(world: World) -> None:
    soon = timezone.now() + timedelta(minutes=1)
    token, raw = create_api_token(world.users["bob"], "short-lived", expires_at=soon)
    assert bearer(raw).get("/api/v1/me/").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(raw).get("/api/v1/me/")
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_an_expiry_in_the_past_is_refused_at_creation(world: World) -> None:
    past = (timezone.now() - timedelta(minutes=1)).isoformat()
    response = world.client("bob").post(
        "/api/v1/tokens/", {"name": "x", "expires_at": past}, format="json"
    )
    assert response.status_code == 400
    assert "expires_at" in response.json()["fields"]


def test_unknown_token_and_anonymous_get_401(world: World) -> None:
    assert bearer("b2i_not-a-real-token").get("/api/v1/me/").status_code == 401
    response = APIClient().get("/api/v1/workspaces/")
    assert response.status_code == 401
    assert response.json()["code"] == "auth:not-authenticated"


def test_token_of_a_deactivated_user_is_refused(world: World) -> None:
    created = create_token(world)
    world.users["bob"].is_active = False
    world.users["bob"].save()
    assert bearer(str(created["token"])).get("/api/v1/me/").status_code == 401


def test_a_read_only_token_reads_but_cannot_write(world: World) -> None:
    raw = str(create_token(world, "bob", scope="read")["token"])
    api = bearer(raw)
    assert api.get("/api/v1/workspaces/acme/projects/shop/").status_code == 200
    response = api.patch("/api/v1/workspaces/acme/projects/shop/", {"alias": "x"}, format="json")
    assert response.status_code == 403
    assert "read-only" in response.json()["message"]
    full = bearer(str(create_token(world, "bob", scope="full")["token"]))
    patched = full.patch("/api/v1/workspaces/acme/projects/shop/", {"alias": "x"}, format="json")
    assert patched.status_code == 200


def test_scope_and_expiry_are_listed(world: World) -> None:
    expiry = timezone.now() + timedelta(days=90)
    create_token(world, "bob", scope="read", expires_at=expiry.isoformat())
    listed = world.client("bob").get("/api/v1/tokens/").json()["results"][0]
    assert listed["scope"] == "read"
    assert listed["expires_at"].startswith(expiry.date().isoformat())


@pytest.mark.parametrize("scope", ["read", "full"])
def test_a_token_cannot_manage_tokens(world: World, scope: str) -> None:
    created = create_token(world, "bob", scope=scope)
    api = bearer(str(created["token"]))
    assert api.post("/api/v1/tokens/", {"name": "more"}, format="json").status_code == 403
    assert api.get("/api/v1/tokens/").status_code == 403
    assert api.delete(f"/api/v1/tokens/{created['id']}/").status_code == 403
    assert ApiToken.objects.count() == 1


def test_a_deactivated_users_token_stops_at_once(world: World) -> None:
    api = bearer(str(create_token(world, "bob")["token"]))
    assert api.get("/api/v1/me/").status_code == 200
    bob = world.users["bob"]
    bob.is_active = False
    bob.save(update_fields=["is_active"])
    assert api.get("/api/v1/me/").status_code == 401
