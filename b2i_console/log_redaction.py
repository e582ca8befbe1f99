"""Redaction of credentials in query strings, for every log line that carries a URL.

Trigger tokens used to travel as `?token=…` and old pipelines may still send them so; an
access log line (whatever the ASGI server: daphne's runserver, uvicorn, hypercorn) records the
full path. `RedactSecretsFilter` is attached to the stdout handler in settings.LOGGING, so it
sees every record that reaches the log, and rewrites the record's final text: it works on the
message whatever the server's format or arguments are.

(daphne's command line writes its access log straight to stdout, not through logging; run the
console through a server that logs through logging - uvicorn with log_config=None does.)
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
# Query parameters whose value is a credential: the trigger token and the usual suspects.
SECRET_PARAMETERS = ("token", "access_token", "password", "secret", "api_key", "apikey")
_SECRET_QUERY_VALUE = re.compile(
    r"(?P<key>[?&;](?:" + "|".join(SECRET_PARAMETERS) + r")=)(?P<value>[^&;#\s\"']*)",
    re.IGNORECASE,
)


def redact_secrets(text: str) -> str:
    """Replace the value of every credential query parameter in the text with [redacted]."""
    return _SECRET_QUERY_VALUE.sub(lambda m: m.group("key") + REDACTED, text)


class RedactSecretsFilter(logging.Filter):
    """Rewrite a record whose text carries a credential query value; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot be formatted is the formatter's to report
            return True
        redacted = redact_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
