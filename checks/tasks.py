"""Celery tasks: thin, taking ids, owning only the retry policy. The services are idempotent."""

from celery import shared_task
from django.db import OperationalError

from deployments.services import catch_up_staging

from . import services

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": 1, "max_retries": 5}


@shared_task(name="checks.tasks.run_lint", acks_late=True, **RETRY)
def run_lint_task(check_id: int) -> str:
    check = services.run_lint(check_id)
    return check.status if check else "skipped"


@shared_task(name="checks.tasks.run_simulation", acks_late=True, **RETRY)
def run_simulation_task(check_id: int) -> str:
    check = services.run_simulation(check_id)
    return check.status if check else "skipped"


@shared_task(name="checks.tasks.sweep_stuck_checks")
def sweep_stuck_checks() -> dict[str, list[int]]:
    requeued, failed = services.sweep_stuck_checks()
    staged = catch_up_staging()
    return {"requeued": requeued, "failed": failed, "staged": [v.pk for v in staged]}
