"""The text of engine events: one line per event, for the worker's build log and the terminal.

The two readers want different lines from the same events, so both renderings live here, side
by side, and change together:

- `log_line`: the build log a user reads in the console (`builders.runner`). Steps are
  bracketed `==> step` … `<== step done in 1.20 s: detail`, which the log viewer folds
  (static/js/widgets/log-viewer.js); blobs carry their full digest.
- `terminal_line`: the `b2i` command's progress on stderr (`b2i.cli`), terser: short digests,
  no detail after a finished step, events without a message dropped. Its text is part of the
  command's interface (tests/e2e/test_cli.py).
"""

from __future__ import annotations

from b2i.oci.events import Event


def human_bytes(size: int) -> str:
    """Return SIZE as B/KiB/MiB/GiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


def _detail(event: Event, separator: str) -> str:
    return f"{separator}{event.message}" if event.message else ""


def log_line(event: Event) -> str:
    """Return the build-log line of one engine event."""
    if event.kind == "step-started":
        return f"==> {event.step}{_detail(event, ': ')}"
    if event.kind == "step-finished":
        took = f" in {event.duration:.2f} s" if event.duration is not None else ""
        return f"<== {event.step} done{took}{_detail(event, ': ')}"
    if event.kind in ("blob-pushed", "blob-reused"):
        verb = "pushed" if event.kind == "blob-pushed" else "reused"
        return f"    {verb} {event.digest or ''} ({human_bytes(event.bytes)}){_detail(event, ' ')}"
    if event.kind == "retry":
        return f"    retrying: {event.message}"
    if event.kind == "registry-error":
        return f"    the registry answered {event.message} to {event.step}"
    return f"    {event.message}" if event.step else event.message


def terminal_line(event: Event) -> str | None:
    """Return the `b2i` command's progress line for one engine event (None: not worth one)."""
    if event.kind == "step-started":
        return f"==> {event.step}{_detail(event, ' ')}"
    if event.kind == "step-finished":
        return f"    {event.step} done in {event.duration or 0:.2f} s"
    if event.kind in ("blob-pushed", "blob-reused"):
        verb = "uploaded" if event.kind == "blob-pushed" else "reused  "
        how = f" ({event.message})" if event.message else ""
        return f"    {verb} {(event.digest or '')[:19]} {human_bytes(event.bytes)}{how}"
    if event.kind == "retry":
        return f"    retry: {event.step}: {event.message}"
    if event.kind == "registry-error":
        return None  # the error itself, or its retry, has a line of its own
    return f"    {event.message}" if event.message else None
