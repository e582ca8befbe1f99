"""Re-encrypt every stored secret with the first key of B2I_SECRET_KEYS.

Rotation: put the new key first in B2I_SECRET_KEYS (keep the old one after it), run this
command, then remove the old key. All rows change in one transaction: if any row cannot be
decrypted, nothing is changed.
"""

from typing import Any

from django.apps import apps
from django.core.management.base import CommandError
from django.db import transaction

from audit.management.base import AuditedCommand
from projects.crypto import ENCRYPTED_FIELDS, SecretDecryptionError, reencrypt_text


class Command(AuditedCommand):
    help = "Re-encrypt every stored secret with the first key of B2I_SECRET_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        with transaction.atomic():
            for model_label, field_name in ENCRYPTED_FIELDS:
                total += self.rotate_column(model_label, field_name)
        self.stdout.write(f"rotate_secret_keys: re-encrypted {total} secret(s) with the first key")

    def rotate_column(self, model_label: str, field_name: str) -> int:
        model = apps.get_model(model_label)
        rows = (
            model.objects.select_for_update()
            .exclude(**{field_name: ""})
            .exclude(**{f"{field_name}__isnull": True})
            .only("pk", field_name)
        )
        count = 0
        for row in rows.iterator():
            try:
                token = reencrypt_text(getattr(row, field_name))
            except SecretDecryptionError as exc:
                raise CommandError(
                    f"{model_label} {row.pk}: {exc.message} Nothing was changed."
                ) from exc
            model.objects.filter(pk=row.pk).update(**{field_name: token})
            count += 1
        return count
