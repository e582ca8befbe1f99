"""The sign-in page's identity-provider texts are translated for zh-Hans users."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.fixtures.processes import free_port
from tests.identity.conftest import Directory, directory_environment, use_directory


def test_the_unreachable_directory_message_is_translated(
    directory: Directory, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = directory_environment(
        directory.server, B2I_LDAP_SERVER_URI=f"ldap://127.0.0.1:{free_port()}"
    )
    use_directory(settings, monkeypatch, env)
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-Hans")
    page = client.post("/login/", {"username": "u", "password": "p"}, REMOTE_ADDR="10.4.0.1")
    assert "无法连接公司目录服务" in page.content.decode()


def test_the_single_sign_on_problem_is_translated(db: None) -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE="zh-Hans").get("/login/?sso=unreachable").content.decode()
    assert "无法连接单点登录服务" in page
