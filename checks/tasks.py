"""Celery tasks: thin, taking ids, owning only the retry policy. The services are idempotent."""

from typing import Any

from celery import Task, shared_task
from django.db import OperationalError

from deployments.services import catch_up_staging

from . import services

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": 1, "max_retries": 5}


def _resuming(request: Any) -> str | None:
    """The job's id when an earlier delivery of this same job ended without finishing it, else None.

    The broker marks a message it gives back as redelivered: the worker process that held it died
    (task_reject_on_worker_lost) or the whole worker did (Redis, after its visibility timeout). A
    retry after an error carries its count. The check may still say running, with a recent
    heartbeat, from the attempt that ended; the service then takes it over.
    """
    redelivered = bool((request.delivery_info or {}).get("redelivered"))
    return request.id if redelivered or request.retries else None


@shared_task(name="checks.tasks.run_lint", bind=True, acks_late=True, **RETRY)
def run_lint_task(self: Task, check_id: int) -> str:
    check = services.run_lint(check_id, resuming=_resuming(self.request))
    return check.status if check else "skipped"


@shared_task(name="checks.tasks.run_simulation", bind=True, acks_late=True, **RETRY)
def run_simulation_task(self: Task, check_id: int) -> str:
    check = services.run_simulation(check_id, resuming=_resuming(self.request))
    return check.status if check else "skipped"


@shared_task(name="checks.tasks.sweep_stuck_checks")
def sweep_stuck_checks() -> dict[str, list[int]]:
    requeued, failed = services.sweep_stuck_checks()
    staged = catch_up_staging()
    return {"requeued": requeued, "failed": failed, "staged": [v.pk for v in staged]}
