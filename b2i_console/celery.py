"""The Celery application: configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery
from django.apps import apps
from django.conf import settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "b2i_console.settings")

app = Celery("b2i_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="b2i_console.count_users_task")
def count_users_task() -> int:
    """Count users in the worker's database: proves a worker shares the console's database."""
    # What get_user_model() does; django.contrib.auth itself cannot be imported this early
    # (this module loads with the settings, before the app registry).
    return int(apps.get_model(settings.AUTH_USER_MODEL).objects.count())
