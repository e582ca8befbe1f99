from django.apps import AppConfig


class WorkloadsConfig(AppConfig):
    name = "workloads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here because Django imports apps.py before any model can be: ready() is
        # where an app connects its receivers (an allowed function-level import).
        from builders.signals import build_succeeded, runs_in_use
        from projects.crypto import register_encrypted_field
        from workloads.services import roll_services_after_build, runs_services_use

        # Key rotation (manage.py rotate_secret_keys) re-encrypts uploaded kubeconfigs too.
        register_encrypted_field("workloads.Cluster", "kubeconfig_encrypted")
        # A successful build rolls the builder's services; builders never calls workloads.
        build_succeeded.connect(roll_services_after_build, dispatch_uid="workloads-roll")
        # Retention keeps the runs services deploy (and so the artifacts they were built from).
        runs_in_use.connect(runs_services_use, dispatch_uid="workloads-runs-in-use")
