"""Celery tasks: thin, owning only the retry policy. The services are idempotent."""

from celery import shared_task
from django.db import OperationalError

from . import services

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": 1, "max_retries": 5}


@shared_task(name="webhooks.tasks.dispatch", **RETRY)
def dispatch_task() -> dict[str, int]:
    return services.dispatch()


@shared_task(name="webhooks.tasks.purge_deliveries", **RETRY)
def purge_deliveries_task() -> dict[str, int]:
    return services.purge_deliveries()
