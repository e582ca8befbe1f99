from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here because Django imports apps.py before any model can be: ready() is
        # where an app connects its receivers (an allowed function-level import).
        from builders.signals import build_finished
        from notifications.services import on_build_finished, on_rollout_finished
        from projects.crypto import register_encrypted_field
        from workloads.signals import rollout_finished

        # Key rotation (manage.py rotate_secret_keys) re-encrypts webhook URLs and secrets too.
        register_encrypted_field("notifications.WebhookChannel", "url_encrypted")
        register_encrypted_field("notifications.WebhookChannel", "secret_encrypted")
        # Builders and workloads never call notifications: they send signals after commit.
        build_finished.connect(on_build_finished, dispatch_uid="notifications-build")
        rollout_finished.connect(on_rollout_finished, dispatch_uid="notifications-rollout")
