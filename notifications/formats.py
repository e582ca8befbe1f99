"""The bodies and signatures of the webhook formats teams use.

- Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat): `text` plus one mrkdwn
  section block.
- DingTalk custom robots: `msgtype: markdown`; with a signing secret, the URL gets `timestamp`
  (ms) and `sign` = base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>")), as DingTalk checks.
- WeCom group robots: `msgtype: markdown` (content at most 4096 bytes).
- Generic JSON: the facts as JSON; `X-B2I-Timestamp` (seconds, also inside the body so the
  signature covers it) and `X-B2I-Signature: sha256=<hex>` = HMAC-SHA256(secret, raw body).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from notifications.events import Facts, headline, summary_lines
from notifications.models import ChannelKind

WECOM_MAX_BYTES = 4096
SIGNATURE_HEADER = "X-B2I-Signature"
TIMESTAMP_HEADER = "X-B2I-Timestamp"


@dataclass(frozen=True)
class Request:
    """What to POST: the URL (perhaps with signing parameters), raw body and headers."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _json(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(facts: Facts) -> dict[str, object]:
    title = _slack_escape(headline(facts))
    lines = "\n".join(_slack_escape(line) for line in summary_lines(facts))
    return {
        "text": headline(facts),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{lines}"}}],
    }


def dingtalk_payload(facts: Facts) -> dict[str, object]:
    lines = "\n".join(f"- {line}" for line in summary_lines(facts))
    return {
        "msgtype": "markdown",
        "markdown": {"title": headline(facts), "text": f"### {headline(facts)}\n\n{lines}"},
    }


def wecom_payload(facts: Facts) -> dict[str, object]:
    content = f"**{headline(facts)}**\n" + "\n".join(f"> {line}" for line in summary_lines(facts))
    encoded = content.encode()
    if len(encoded) > WECOM_MAX_BYTES:  # WeCom refuses longer content: cut at a character
        content = encoded[: WECOM_MAX_BYTES - 3].decode(errors="ignore") + "…"
    return {"msgtype": "markdown", "markdown": {"content": content}}


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """Add DingTalk's `timestamp` and `sign` query parameters (its "加签" security setting)."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), to_sign, hashlib.sha256).digest()
    sign = base64.b64encode(digest).decode()
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("timestamp", "sign")]
    query += [("timestamp", str(timestamp_ms)), ("sign", sign)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def body_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the raw body with the channel's secret."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def generic_request(url: str, secret: str, facts: Facts, delivery_id: int, now: float) -> Request:
    timestamp = str(int(now))
    body = _json(
        {
            **facts,
            "headline": headline(facts),
            "text": "\n".join(summary_lines(facts)),
            "delivery": delivery_id,
            "timestamp": int(timestamp),
        }
    )
    headers = {TIMESTAMP_HEADER: timestamp, "X-B2I-Event": str(facts["event"])}
    headers["X-B2I-Delivery"] = str(delivery_id)
    if secret:
        headers[SIGNATURE_HEADER] = body_signature(secret, body)
    return Request(url, body, headers)


def render_request(
    kind: str, url: str, secret: str, facts: Facts, delivery_id: int, now: float | None = None
) -> Request:
    """The request a channel of KIND sends for FACTS."""
    now = time.time() if now is None else now
    if kind == ChannelKind.SLACK:
        return Request(url, _json(slack_payload(facts)))
    if kind == ChannelKind.DINGTALK:
        signed = dingtalk_signed_url(url, secret, int(now * 1000)) if secret else url
        return Request(signed, _json(dingtalk_payload(facts)))
    if kind == ChannelKind.WECOM:
        return Request(url, _json(wecom_payload(facts)))
    return generic_request(url, secret, facts, delivery_id, now)
