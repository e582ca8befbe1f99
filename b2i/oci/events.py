"""Progress events of the engine, sent to a callback: no printing, no Django."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

EventKind = Literal[
    "step-started", "step-finished", "log", "blob-pushed", "blob-reused", "retry", "registry-error"
]


@dataclass(frozen=True)
class Event:
    """One progress event: a step boundary, a log line, a blob transfer, a retry, or a registry
    answering a request with an error (`registry-error`: the HTTP status is the message)."""

    kind: EventKind
    step: str = ""
    message: str = ""
    duration: float | None = None
    bytes: int = 0
    digest: str | None = None


EventSink = Callable[[Event], None]


def ignore_event(event: Event) -> None:
    """Drop an event (the default sink)."""
    del event
