"""Failed logins are throttled by django-axes: 5 failures for one username+IP lock it for 15 min."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    # The default PBKDF2 costs ~0.3 s per attempt; these tests make dozens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("alice", "alice@example.test", PASSWORD)


def login(client: Client, password: str, ip: str = "10.0.0.1", username: str = "alice") -> int:
    response = client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)
    return response.status_code


def fail_five_times(client: Client, ip: str = "10.0.0.1") -> None:
    for _ in range(4):
        assert login(client, "wrong", ip) == 200  # the form again, with an error
    response = client.post("/login/", {"username": "alice", "password": "wrong"}, REMOTE_ADDR=ip)
    assert response.status_code == 429  # the fifth failure locks
    assert "locked for 15 minutes" in response.content.decode()


def test_settings_lock_five_failures_for_fifteen_minutes() -> None:
    assert settings.AXES_FAILURE_LIMIT == 5
    assert timedelta(hours=settings.AXES_COOLOFF_TIME) == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_five_failures_lock_out_even_the_right_password(alice: User) -> None:
    client = Client()
    fail_five_times(client)
    response = client.post(
        "/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1"
    )
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_four_failures_still_allow_the_right_password(alice: User) -> None:
    client = Client()
    for _ in range(4):
        login(client, "wrong")
    assert login(client, PASSWORD) == 302
    assert AccessAttempt.objects.count() == 0  # reset on success


def test_lockout_is_per_username_and_ip(alice: User) -> None:
    User.objects.create_user("bob", "bob@example.test", PASSWORD)
    fail_five_times(Client())
    assert login(Client(), PASSWORD, ip="10.0.0.2") == 302  # alice from another IP
    assert login(Client(), PASSWORD, username="bob") == 302  # another user from that IP


def test_lockout_ends_after_the_cool_off(alice: User) -> None:
    fail_five_times(Client())
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert login(Client(), PASSWORD) == 302


def login_via(client: Client, password: str, forwarded_for: str, username: str = "alice") -> int:
    body = {"username": username, "password": password}
    response = client.post(
        "/login/", body, REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=forwarded_for
    )
    return response.status_code


def test_forged_forwarded_addresses_do_not_escape_the_lock_out(alice: User) -> None:
    # 10.9.9.9 is no trusted proxy: X-Forwarded-For is anybody's to write, hence ignored.
    for n in range(5):
        login_via(Client(), "wrong", f"203.0.113.{n}")
    assert login_via(Client(), PASSWORD, "203.0.113.99") == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"10.9.9.9"}


def test_behind_a_trusted_proxy_the_forwarded_client_is_locked_alone(
    alice: User, settings: Any
) -> None:
    settings.B2I_TRUSTED_PROXIES = ["10.9.9.0/24"]
    for _ in range(5):
        login_via(Client(), "wrong", "203.0.113.5")
    assert login_via(Client(), PASSWORD, "203.0.113.5") == 429
    assert login_via(Client(), PASSWORD, "203.0.113.6") == 302  # another client, same proxy
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}


def test_one_address_trying_many_usernames_is_locked_out(alice: User, settings: Any) -> None:
    settings.B2I_LOGIN_IP_FAILURE_LIMIT = 12
    # One password against twelve usernames: none reaches 5 failures, the address does.
    statuses = [login(Client(), "Summer2024!", "10.0.0.7", f"user{n}") for n in range(12)]
    assert statuses == [200] * 11 + [429]  # the twelfth failure locks, as the fifth does
    assert login(Client(), PASSWORD, ip="10.0.0.7") == 429
    assert login(Client(), PASSWORD, ip="10.0.0.8") == 302  # other addresses are not affected
