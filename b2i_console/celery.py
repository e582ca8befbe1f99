"""The Celery application: configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "b2i_console.settings")

app = Celery("b2i_console")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="b2i_console.count_users_task")
def count_users_task() -> int:
    """Count users in the worker's database: proves a worker shares the console's database."""
    from django.contrib.auth import get_user_model

    return int(get_user_model().objects.count())
