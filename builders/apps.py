from celery.signals import worker_ready
from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate


class BuildersConfig(AppConfig):
    name = "builders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here because Django imports apps.py before any model can be: ready() is
        # where an app connects its receivers (an allowed function-level import, see
        # tests/foundation/test_architecture.py).
        from builders.artifacts.staging import discard_after_delete
        from builders.artifacts.stored_files import artifact_deleted, run_deleted
        from builders.environments_sync import sync_after_migrate
        from builders.selectors import count_active_runs
        from builders.temp_sweep import sweep_at_worker_start
        from projects.crypto import register_encrypted_field
        from projects.services import register_active_work_check

        # Seeded after every migrate (and after test flushes), so built-ins always exist.
        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="builders-sync-envs")
        # A project with queued or running builds cannot be deleted (tenancy asks every app).
        register_active_work_check(count_active_runs)
        # However an upload row goes (API, expiry, a project's cascade), its staged bytes go too.
        post_delete.connect(
            discard_after_delete, sender="builders.ArtifactUpload", dispatch_uid="upload-staging"
        )
        # Likewise an artifact's stored file and a run's archived log (artifacts.stored_files).
        post_delete.connect(
            artifact_deleted, sender="builders.Artifact", dispatch_uid="artifact-file"
        )
        post_delete.connect(run_deleted, sender="builders.BuildRun", dispatch_uid="run-log-archive")
        # Temp directories of builds killed with the previous worker go when a worker starts.
        worker_ready.connect(sweep_at_worker_start, dispatch_uid="builders-temp-sweep")
        # Key rotation (manage.py rotate_secret_keys) re-encrypts trigger tokens too.
        register_encrypted_field("builders.ImageBuilder", "trigger_token_encrypted")
