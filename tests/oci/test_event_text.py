"""The one place that words engine events: the worker's build log and the `b2i` terminal."""

from __future__ import annotations

from b2i.event_text import human_bytes, log_line, terminal_line
from b2i.oci.events import Event

DIGEST = "sha256:" + "0123456789abcdef" * 4
PUSHED = Event("blob-pushed", step="push", digest=DIGEST, bytes=3 * 1024 * 1024, message="mounted")


def test_sizes_read_in_binary_units() -> None:
    sizes = [0, 1023, 1024, 1536, 5 * 1024**2, 3 * 1024**3, 2048 * 1024**3]
    assert [human_bytes(size) for size in sizes] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "1.5 KiB",
        "5.0 MiB",
        "3.0 GiB",
        "2048.0 GiB",
    ]


def test_the_build_log_brackets_steps_for_the_log_viewer_to_fold() -> None:
    assert log_line(Event("step-started", step="push", message="3 layers")) == "==> push: 3 layers"
    finished = Event("step-finished", step="push", duration=1.234, message="digest x")
    assert log_line(finished) == "<== push done in 1.23 s: digest x"
    assert log_line(Event("step-finished", step="push")) == "<== push done"
    assert log_line(PUSHED) == f"    pushed {DIGEST} (3.0 MiB) mounted"
    assert log_line(Event("blob-reused", digest=DIGEST, bytes=10)) == f"    reused {DIGEST} (10 B)"
    assert log_line(Event("retry", step="push", message="503")) == "    retrying: 503"
    assert log_line(Event("log", step="push", message="hello")) == "    hello"
    assert log_line(Event("log", message="hello")) == "hello"


def test_the_terminal_is_terser() -> None:
    started = Event("step-started", step="push", message="3 layers")
    assert terminal_line(started) == "==> push 3 layers"
    finished = Event("step-finished", step="push", duration=1.234, message="digest x")
    assert terminal_line(finished) == "    push done in 1.23 s"
    assert terminal_line(PUSHED) == f"    uploaded {DIGEST[:19]} 3.0 MiB (mounted)"
    assert terminal_line(Event("blob-reused", digest=DIGEST, bytes=10)) == (
        f"    reused   {DIGEST[:19]} 10 B"
    )
    assert terminal_line(Event("retry", step="push", message="503")) == "    retry: push: 503"
    assert terminal_line(Event("log", step="push", message="hello")) == "    hello"
    assert terminal_line(Event("log", step="push")) is None
