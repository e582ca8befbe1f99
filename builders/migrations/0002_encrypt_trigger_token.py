"""Trigger tokens move to an encrypted column (projects.crypto), existing values encrypted."""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def encrypt_tokens(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from projects.crypto import encrypt_text

    ImageBuilder = apps.get_model("builders", "ImageBuilder")
    for builder in ImageBuilder.objects.exclude(trigger_token=""):
        builder.trigger_token_encrypted = encrypt_text(builder.trigger_token)
        builder.save(update_fields=["trigger_token_encrypted"])


def decrypt_tokens(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    from projects.crypto import decrypt_text

    ImageBuilder = apps.get_model("builders", "ImageBuilder")
    for builder in ImageBuilder.objects.exclude(trigger_token_encrypted=""):
        builder.trigger_token = decrypt_text(builder.trigger_token_encrypted)
        builder.save(update_fields=["trigger_token"])


class Migration(migrations.Migration):
    dependencies = [
        ("builders", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="imagebuilder",
            name="trigger_token_encrypted",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.RunPython(encrypt_tokens, decrypt_tokens),
        migrations.RemoveField(model_name="imagebuilder", name="trigger_token"),
    ]
