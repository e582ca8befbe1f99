"""The b2i command prints one line per engine event: user data cannot forge another line."""

from __future__ import annotations

import io

from b2i.cli import event_printer
from b2i.oci.events import Event


def test_an_event_carrying_a_forged_line_prints_as_one_line() -> None:
    out = io.StringIO()
    event_printer(out)(Event("step-started", step="inspect", message="x\r\nDone \u202eok\x1b[0m"))
    assert out.getvalue() == "==> inspect x\\r\\nDone \\u202eok\\x1b[0m\n"
