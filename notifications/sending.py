"""One attempt to send a notification: a webhook POST or an e-mail, judged as an Outcome.

Webhooks go through the engine's guarded HTTP client (b2i.oci.transport.build_http_client):
every connection resolves and checks its address against the registries' policy in one step,
uses the console's outbound proxy settings, never follows a redirect (a 3xx is a failure, so a
webhook cannot bounce the console to another host), has a timeout, and reads at most
MAX_RESPONSE_BYTES of the answer. E-mail goes through Django's SMTP backend (EMAIL_* settings,
set from B2I_SMTP_*), whatever EMAIL_BACKEND says, so a test's outbox cannot hide a real send.
"""

from __future__ import annotations

import json
import smtplib
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from b2i.oci.errors import BlockedAddressError, OciError
from b2i.oci.transport import build_http_client, translate_transport_error
from b2i_console.errors import UserError
from builders.proxy_settings import registry_proxy
from notifications.addresses import blocked, check_webhook_url
from notifications.events import Facts, headline, summary_lines
from notifications.formats import Request
from notifications.models import MAX_ERROR_CHARS, ChannelKind

MAX_RESPONSE_BYTES = 64 * 1024
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# DingTalk and WeCom answer HTTP 200 with {"errcode": n, "errmsg": ...}; only 0 is success.
ERRCODE_KINDS = frozenset({ChannelKind.DINGTALK, ChannelKind.WECOM})


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str = ""
    retryable: bool = False

    def short_error(self) -> str:
        return self.error[:MAX_ERROR_CHARS]


def post_webhook(kind: str, request: Request) -> Outcome:
    """POST the request once; never raises for what the receiver or the network does."""
    try:
        check_webhook_url(request.url)
    except UserError as exc:  # a stored URL the policy refuses now (its networks changed)
        return Outcome(False, error=exc.message)
    client = build_http_client(
        allowed_networks=settings.B2I_ALLOWED_REGISTRY_NETWORKS,
        timeout=float(settings.B2I_NOTIFY_TIMEOUT),
        proxy=registry_proxy(),
    )
    headers = {"Content-Type": "application/json; charset=utf-8", **request.headers}
    try:
        with (
            client,
            client.stream(
                "POST", request.url, content=request.body, headers=headers, follow_redirects=False
            ) as response,
        ):
            answer = read_bounded(response)
    except BlockedAddressError as exc:
        return Outcome(False, error=blocked(exc).message)
    except OciError as exc:  # DNS failure, a proxy refusing: maybe better later
        return Outcome(False, error=exc.message, retryable=True)
    except httpx.TransportError as exc:
        return Outcome(
            False, error=translate_transport_error(exc, "webhook").message, retryable=True
        )
    return judge_answer(kind, response.status_code, answer)


def read_bounded(response: httpx.Response) -> bytes:
    """Read at most MAX_RESPONSE_BYTES of the answer: a receiver cannot make the worker hoard."""
    kept = bytearray()
    for chunk in response.iter_raw(16 * 1024):
        kept += chunk[: MAX_RESPONSE_BYTES - len(kept)]
        if len(kept) >= MAX_RESPONSE_BYTES:
            break
    return bytes(kept)


def judge_answer(kind: str, status: int, answer: bytes) -> Outcome:
    if 300 <= status < 400:
        return Outcome(False, status, f"HTTP {status}: redirects are not followed")
    if not 200 <= status < 300:
        snippet = answer[:200].decode(errors="replace").strip()
        error = f"HTTP {status}" + (f": {snippet}" if snippet else "")
        return Outcome(False, status, error, retryable=status in RETRYABLE_STATUSES)
    if kind in ERRCODE_KINDS:
        refusal = robot_refusal(answer)
        if refusal:
            return Outcome(False, status, refusal)
    return Outcome(True, status)


def robot_refusal(answer: bytes) -> str:
    """DingTalk's/WeCom's error in a 200 answer (a bad key or signature), or ''."""
    try:
        data = json.loads(answer)
    except ValueError:
        return "the answer is not the robot API's JSON"
    code = data.get("errcode", 0) if isinstance(data, dict) else 0
    if code in (0, "0"):
        return ""
    return f"errcode {code}: {str(data.get('errmsg', ''))[:200]}"


def send_email(address: str, facts: Facts) -> Outcome:
    """Send one e-mail through the configured SMTP server; 4xx answers are worth a retry."""
    if not settings.EMAIL_HOST:
        return Outcome(False, error="E-mail is not configured here: B2I_SMTP_HOST is not set.")
    if not address:
        return Outcome(False, error="The member's account has no e-mail address.")
    connection = get_connection(SMTP_BACKEND, timeout=settings.B2I_NOTIFY_TIMEOUT)
    message = EmailMessage(
        subject=headline(facts),
        body="\n".join(summary_lines(facts)) + "\n",
        to=[address],
        connection=connection,
    )
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _text in exc.recipients.values()]
        return Outcome(False, error=f"SMTP refused the recipient: {exc.recipients}",
                       retryable=all(400 <= code < 500 for code in codes))  # fmt: skip
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
        return Outcome(False, error=f"SMTP {exc.smtp_code}: {text}", retryable=exc.smtp_code < 500)
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(False, error=f"SMTP: {type(exc).__name__}: {exc}", retryable=True)
    return Outcome(True)
