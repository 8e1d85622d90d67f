"""A worker keeps its database connection from one task to the next, as a web thread does between
requests, and still never runs a task on a connection that is broken or left inside a transaction.

Celery's Django fix-up would close every connection around every task, so each task (each partition
of a simulation) paid for a new PostgreSQL session. It is turned off (CELERY_DB_REUSE_MAX), and
pdp_portal.celery.reuse_sound_connections applies Django's rule around each task instead. These tests
send the worker's own task_prerun/task_postrun signals, with Celery's fix-up connected as in a
worker, and end sessions with pg_terminate_backend as a database restart does.
"""

from types import SimpleNamespace

import pytest
from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from django.db import OperationalError, connection, transaction

from pdp_portal.celery import app
from tests.conftest import require_postgres
from tests.deployments.support import POSTGRES_ONLY

from .test_database_dropped import terminate

pytestmark = [pytest.mark.postgres, POSTGRES_ONLY, pytest.mark.django_db(transaction=True)]


class Task:
    """What a worker's task signals carry as their sender: the task, with its current request."""

    def __init__(self, *, eager):
        self.request = SimpleNamespace(is_eager=eager)


A_TASK = Task(eager=False)
AN_EAGER_TASK = Task(eager=True)


@pytest.fixture
def worker_signals():
    """Celery's Django fix-up connected to the task signals, as `celery worker` connects it."""
    require_postgres()
    fixup = DjangoWorkerFixup(app)
    task_prerun.connect(fixup.on_task_prerun)
    task_postrun.connect(fixup.on_task_postrun)
    try:
        yield fixup
    finally:
        task_prerun.disconnect(fixup.on_task_prerun)
        task_postrun.disconnect(fixup.on_task_postrun)


def run_task(sender=A_TASK):
    """One task on this thread's connection, between the signals a worker sends: its backend pid."""
    task_prerun.send(sender=sender, task_id="t", task=sender, args=(), kwargs={})
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]
    finally:
        task_postrun.send(sender=sender, task_id="t", task=sender, args=(), kwargs={}, retval=None, state="SUCCESS")


def test_the_fixup_no_longer_closes_connections_around_tasks(worker_signals):
    assert worker_signals.db_reuse_max  # read from settings.CELERY_DB_REUSE_MAX
    first = run_task()
    assert [run_task() for _ in range(5)] == [first] * 5


def test_a_session_ended_between_tasks_is_replaced_before_the_next_task(worker_signals):
    first = run_task()
    terminate(first)
    second = run_task()  # the health check at its first query finds the session gone, and reconnects
    assert second != first
    assert run_task() == second


def test_a_connection_that_failed_in_a_task_is_closed_after_it(worker_signals):
    first = run_task()
    terminate(first)
    task_prerun.send(sender=A_TASK, task_id="t", task=A_TASK, args=(), kwargs={})
    connection.health_check_done = True  # as if the task had already used it: the next query meets the error
    with pytest.raises(OperationalError):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    task_postrun.send(sender=A_TASK, task_id="t", task=A_TASK, args=(), kwargs={}, retval=None, state="FAILURE")
    assert connection.connection is None  # closed after the task, not carried to the next one
    assert run_task() != first


def test_a_connection_left_inside_a_transaction_is_closed_after_the_task(worker_signals):
    first = run_task()
    connection.set_autocommit(False)  # a task that left a transaction open
    task_postrun.send(sender=A_TASK, task_id="t", task=A_TASK, args=(), kwargs={}, retval=None, state="SUCCESS")
    assert connection.connection is None
    assert run_task() != first


def test_an_eager_task_leaves_its_callers_transaction_alone(worker_signals):
    with transaction.atomic():
        first = run_task(AN_EAGER_TASK)
        assert run_task(AN_EAGER_TASK) == first
        assert not connection.needs_rollback
