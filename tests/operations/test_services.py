"""The operations services: the worker's beat and the scheduled audit chain verification.

Neither writes an audit event, on purpose (operations/services.py says why); the tests pin that too.
"""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from audit.services import record_event
from operations import tasks
from operations.models import AuditChainCheck, WorkerBeat
from operations.services import record_worker_beat, verify_audit_chain

pytestmark = pytest.mark.django_db


def test_a_beat_makes_the_row_then_moves_it():
    first = record_worker_beat("celery@a")
    WorkerBeat.objects.filter(pk=first.pk).update(beat_at=timezone.now() - timedelta(minutes=5))
    second = record_worker_beat("celery@a")
    record_worker_beat("celery@b")
    assert second.pk == first.pk
    assert WorkerBeat.objects.count() == 2
    assert timezone.now() - WorkerBeat.objects.get(hostname="celery@a").beat_at < timedelta(seconds=5)
    assert WorkerBeat.objects.newest().hostname == "celery@b"
    assert not AuditEvent.objects.exists()


def test_the_beat_task_records_its_worker():
    tasks.worker_beat_task.delay()
    assert WorkerBeat.objects.count() == 1


def test_a_verification_of_a_sound_chain_is_recorded_as_verified():
    events = [record_event("test.one", actor=None), record_event("test.two", actor=None)]
    check = verify_audit_chain()
    check.refresh_from_db()
    assert (check.verified, check.checked, check.problem_count, check.problems) == (True, 2, 0, [])
    assert check.duration_s >= 0 and AuditChainCheck.objects.newest() == check
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [e.pk for e in events]  # none added


def test_a_verification_of_a_broken_chain_is_recorded_and_logged(settings, caplog):
    settings.PDP_AUDIT_KEY = "not-the-portal's-key"
    forged = record_event("test.forged", actor=None)
    settings.PDP_AUDIT_KEY = "the-portal's-key"
    with caplog.at_level(logging.ERROR, logger="operations.services"):
        check = verify_audit_chain()
    assert (check.verified, check.checked, check.problem_count) == (False, 1, 1)
    assert check.problems == [f"event #{forged.pk}: its seal is not the audit key's: it was written without the key"]
    assert "Audit chain verification failed: 1 problem(s) in 1 events" in caplog.text


def test_the_verification_task_runs_on_its_schedule(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["verify-audit-chain"]["task"] == tasks.verify_audit_chain_task.name
    assert schedule["worker-beat"] == {
        "task": tasks.worker_beat_task.name,
        "schedule": 10.0,
        "options": {"expires": 10.0},
    }
    assert tasks.verify_audit_chain_task.delay().get() is True
    assert AuditChainCheck.objects.get().verified
