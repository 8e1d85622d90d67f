"""Celery tasks of the operations app, run by beat: thin, calling one service each."""

from celery import shared_task
from django.db import OperationalError

from . import services

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": 1, "max_retries": 3}


# Their results are rows of their own (and the beat's would be 8,640 a day): Celery keeps none.
@shared_task(name="operations.tasks.worker_beat", bind=True, ignore_result=True)
def worker_beat_task(self):
    # No retry: a missed beat is the very thing readiness watches for, and the next comes in 10 s.
    return services.record_worker_beat(self.request.hostname or "unknown").beat_at.isoformat()


@shared_task(name="operations.tasks.verify_audit_chain", ignore_result=True, **RETRY)
def verify_audit_chain_task():
    return services.verify_audit_chain().verified
