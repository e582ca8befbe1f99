"""`AuditedCommand`: the base of the console's state-changing management commands.

The command runs in one transaction with its audit entry (actor "command", the command's name
as object); a command that fails leaves a "failed" entry, written after its rollback. Only the
options a command allow-lists in `audit_options` are recorded (never a kubeconfig or password).
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.management.base import BaseCommand
from django.db import transaction

from audit.models import ActorKind, Channel, Result
from audit.recording import Actor, Outcome, Source, Target, record, sanitized


class AuditedCommand(BaseCommand):
    audit_options: ClassVar[tuple[str, ...]] = ()

    def command_name(self) -> str:
        return type(self).__module__.rsplit(".", 1)[-1]

    def execute(self, *args: Any, **options: Any) -> str | None:
        try:
            with transaction.atomic():
                output: str | None = super().execute(*args, **options)
                self.record_run(options, Outcome())
        except BaseException as error:
            with transaction.atomic():
                failed = Outcome(Result.FAILED, None, type(error).__name__)
                self.record_run(options, failed)
            raise
        return output

    def record_run(self, options: dict[str, Any], outcome: Outcome) -> None:
        name = self.command_name()
        record(
            f"command.{name}",
            Actor(ActorKind.COMMAND, name=f"manage.py {name}"),
            Source(Channel.COMMAND),
            Target("command", name),
            outcome,
            sanitized(options, self.audit_options),
        )
