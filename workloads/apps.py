from django.apps import AppConfig


class WorkloadsConfig(AppConfig):
    name = "workloads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from projects.crypto import register_encrypted_field

        # Key rotation (manage.py rotate_secret_keys) re-encrypts uploaded kubeconfigs too.
        register_encrypted_field("workloads.Cluster", "kubeconfig_encrypted")
