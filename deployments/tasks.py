"""Celery tasks: thin, owning only the retry policy. The services are idempotent."""

from celery import shared_task
from django.db import OperationalError

from . import services

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": 1, "max_retries": 5}


@shared_task(name="deployments.tasks.run_due_promotions", **RETRY)
def run_due_promotions_task():
    """Beat's call: carry out the scheduled promotions whose time has come; returns their ids."""
    return [schedule.pk for schedule in services.run_due_promotions()]
