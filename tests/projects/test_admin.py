"""The Django admin covers every tenancy model and never shows a registry password."""

from __future__ import annotations

import pytest
from django.test import Client

from projects.models import RegistrySecret
from tests.projects.conftest import World

ADMIN_LISTS = [
    "workspace",
    "project",
    "workspacemembership",
    "projectmembership",
    "registrysecret",
    "apitoken",
]


@pytest.fixture
def operator_client(world: World) -> Client:
    client = Client()
    client.force_login(world.users["root"])
    return client


@pytest.mark.parametrize("model", ADMIN_LISTS)
def test_admin_lists_every_tenancy_model(operator_client: Client, model: str) -> None:
    response = operator_client.get(f"/admin/projects/{model}/")
    assert response.status_code == 200
    assert "s3cret-hub-password" not in response.content.decode()


def hub(world: World) -> RegistrySecret:
    return RegistrySecret.objects.get(project=world.shop, name="hub")


def test_secret_change_page_does_not_render_the_password(
    world: World, operator_client: Client
) -> None:
    page = operator_client.get(f"/admin/projects/registrysecret/{hub(world).pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="new_password"' in html
    assert "s3cret-hub-password" not in html
    assert hub(world).password_encrypted not in html


def form_data(world: World, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "project": world.shop.pk if world.shop else "",
        "name": "hub",
        "address": "http://127.0.0.1:9",
        "username": "ci",
        "new_password": "",
        "email": "",
        "is_default": "on",
        "ca_bundle": "",
    }
    data.update(changes)
    return data


def test_saving_without_a_password_keeps_the_stored_one(
    world: World, operator_client: Client
) -> None:
    url = f"/admin/projects/registrysecret/{hub(world).pk}/change/"
    response = operator_client.post(url, form_data(world, email="ci@example.test"))
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    assert (hub(world).email, hub(world).password) == ("ci@example.test", "s3cret-hub-password")


def test_changing_the_address_without_the_password_is_refused(
    world: World, operator_client: Client
) -> None:
    url = f"/admin/projects/registrysecret/{hub(world).pk}/change/"
    response = operator_client.post(url, form_data(world, address="http://127.0.0.1:18901"))
    assert response.status_code == 200
    assert "new_password" in response.context["adminform"].form.errors
    assert hub(world).address != "http://127.0.0.1:18901"


def test_saving_a_new_password_encrypts_it(world: World, operator_client: Client) -> None:
    url = f"/admin/projects/registrysecret/{hub(world).pk}/change/"
    operator_client.post(url, form_data(world, new_password="from-admin"))
    assert hub(world).password == "from-admin"
    assert "from-admin" not in hub(world).password_encrypted


def test_adding_a_second_default_secret_replaces_the_first(
    world: World, operator_client: Client
) -> None:
    data = form_data(world, name="second", new_password="p2")
    response = operator_client.post("/admin/projects/registrysecret/add/", data)
    assert response.status_code == 302, (
        response.context and response.context["adminform"].form.errors
    )
    defaults = RegistrySecret.objects.filter(project=world.shop, is_default=True)
    assert [secret.name for secret in defaults] == ["second"]
