"""The Celery worker fixture runs real tasks against the test database."""

import pytest
from django.contrib.auth import get_user_model

from b2i_console.celery import count_users_task
from tests.fixtures.celery_worker import CeleryWorker


@pytest.mark.django_db(transaction=True)
def test_worker_sees_rows_committed_by_the_test(celery_worker: CeleryWorker) -> None:
    get_user_model().objects.create_user("alice", password="x")
    get_user_model().objects.create_user("bob", password="x")
    result = count_users_task.delay()
    assert result.get(timeout=30) == 2, celery_worker.log_tail()
