"""The webhook formats: Slack, DingTalk (with its signature), WeCom and the signed generic JSON."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from urllib.parse import parse_qs, urlsplit

from notifications.formats import render_request
from notifications.models import ChannelKind

FACTS = {
    "event": "build.failed",
    "title": "Build failed",
    "workspace": "acme",
    "project": "shop",
    "subject": "hello #3",
    "builder": "hello",
    "run": 3,
    "image": "registry.example/demo/hello:v1",
    "error": "The base image <x> & friends cannot be pulled",
    "link": "https://b2i.example/workspaces/acme/projects/shop/imagebuilders/hello/",
    "at": "2026-12-07T07:00:00+00:00",
}


def test_slack_payload_has_text_and_one_escaped_mrkdwn_section() -> None:
    request = render_request(ChannelKind.SLACK, "https://hooks.example/T/B/x", "", FACTS, 1)
    body = json.loads(request.body)
    assert body["text"] == "Build failed: shop · hello #3"
    [block] = body["blocks"]
    assert block["type"] == "section" and block["text"]["type"] == "mrkdwn"
    assert block["text"]["text"].startswith("*Build failed: shop · hello #3*\n")
    assert "&lt;x&gt; &amp; friends" in block["text"]["text"]
    assert "Image builder: hello #3" in block["text"]["text"]
    assert request.url == "https://hooks.example/T/B/x" and request.headers == {}


def test_dingtalk_markdown_signed_as_dingtalk_checks() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=abc"
    request = render_request(ChannelKind.DINGTALK, url, "SECabc", FACTS, 1, now=1700000000.123)
    body = json.loads(request.body)
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "Build failed: shop · hello #3"
    assert body["markdown"]["text"].startswith("### Build failed: shop · hello #3\n\n- Project:")
    query = parse_qs(urlsplit(request.url).query)
    assert query["access_token"] == ["abc"] and query["timestamp"] == ["1700000000123"]
    expected = base64.b64encode(
        hmac.new(b"SECabc", b"1700000000123\nSECabc", hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected]


def test_dingtalk_without_secret_keeps_the_url() -> None:
    url = "https://oapi.dingtalk.com/robot/send?access_token=abc"
    assert render_request(ChannelKind.DINGTALK, url, "", FACTS, 1).url == url


def test_wecom_markdown_content_is_bounded_to_4096_bytes() -> None:
    request = render_request(ChannelKind.WECOM, "https://qyapi.example/send?key=k", "", FACTS, 1)
    body = json.loads(request.body)
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["content"].startswith("**Build failed: shop · hello #3**\n> Project:")
    long = {**FACTS, "error": "数" * 3000}  # 9000 bytes of UTF-8
    content = json.loads(render_request(ChannelKind.WECOM, "https://q/", "", long, 1).body)
    assert len(content["markdown"]["content"].encode()) <= 4096


def test_generic_json_is_signed_over_the_raw_body_with_the_timestamp_inside() -> None:
    request = render_request(ChannelKind.WEBHOOK, "https://ci.example/hook", "k", FACTS, 42, 1e9)
    body = json.loads(request.body)
    assert body["event"] == "build.failed" and body["delivery"] == 42
    assert body["timestamp"] == 1000000000
    assert request.headers["X-B2I-Timestamp"] == "1000000000"
    assert request.headers["X-B2I-Event"] == "build.failed"
    digest = hmac.new(b"k", request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-B2I-Signature"] == f"sha256={digest}"
    tampered = request.body.replace(b"build.failed", b"build.succeeded")
    assert hmac.new(b"k", tampered, hashlib.sha256).hexdigest() != digest
