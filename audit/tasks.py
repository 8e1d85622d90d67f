"""Celery tasks: thin, taking ids, owning only the retry policy. The services are idempotent."""

from celery import shared_task
from django.db import OperationalError

from . import services

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": 1, "max_retries": 5}


@shared_task(name="audit.tasks.verify_chain", acks_late=True, **RETRY)
def verify_chain_task(verification_id):
    verification = services.run_chain_verification(verification_id)
    return verification.status if verification else "skipped"


@shared_task(name="audit.tasks.flush_refusal_tallies", **RETRY)
def flush_refusal_tallies_task():
    return services.flush_refusal_tallies()


@shared_task(name="audit.tasks.write_checkpoint", **RETRY)
def write_checkpoint_task():
    checkpoint = services.write_checkpoint()
    return checkpoint.last_event_id if checkpoint else None
