"""Signals the build platform sends; other apps subscribe, so builders never imports them.

`build_succeeded(sender=BuildRun, run=<BuildRun>)` is sent after the transaction that ended a
run Successful has committed (from `transaction.on_commit`), so a receiver sees the final row.
`workloads` subscribes to roll services to the new digest.

`build_finished(sender=BuildRun, run=<BuildRun>)` is sent the same way for every run that reached
a final state (Successful, Failed or Cancelled); `notifications` subscribes to tell the project's
members. A receiver's exception is logged and never changes the build's outcome.
"""

from __future__ import annotations

from django.dispatch import Signal

build_succeeded = Signal()
build_finished = Signal()
