"""Signals the deploy layer sends; `notifications` subscribes, so workloads never imports it.

`rollout_finished(sender=Service, service=<Service>, run=<BuildRun>, succeeded=<bool>,
message=<str>)` is sent after a service was rolled to a run's image (after a successful build,
or a rollback), or failed to be. A rerun whose digest was already deployed ("no change") sends
nothing: nothing rolled. A receiver's exception is logged and never changes the rollout.
"""

from __future__ import annotations

from django.dispatch import Signal

rollout_finished = Signal()
