"""Celery tasks: thin, taking ids, owning only the retry policy. The services are idempotent."""

import logging
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from django.db import OperationalError

from deployments.services import catch_up_staging

from . import partitions, services
from .models import CheckRun

logger = logging.getLogger(__name__)

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


def _run(job: Callable[..., CheckRun | None], task: Task, check_id: int) -> str:
    """Run one check's job. A lost database connection is retried (RETRY); any other error would happen
    again on every attempt, so the check fails at once with its cause rather than after its attempts."""
    try:
        check = job(check_id, resuming=_resuming(task.request))
    except OperationalError:
        raise
    except Exception as exc:
        logger.exception("check %s: %s failed", check_id, task.name)
        check = services.fail_check(check_id, error=exc)
    return check.status if check else "skipped"


@shared_task(name="checks.tasks.run_lint", bind=True, acks_late=True, **RETRY)
def run_lint_task(self: Task, check_id: int) -> str:
    return _run(services.run_lint, self, check_id)


@shared_task(name="checks.tasks.run_simulation", bind=True, acks_late=True, **RETRY)
def run_simulation_task(self: Task, check_id: int) -> str:
    return _run(services.run_simulation, self, check_id)


@shared_task(name="checks.tasks.simulate_partition", bind=True, acks_late=True, **RETRY)
def simulate_partition_task(self: Task, check_id: int, stage: str, index: int) -> str:
    """One partition of a partitioned simulation (checks/partitions.py). An error it would meet again fails
    the check at once, naming the partition; the chord still completes, and its merge finds the check ended."""
    try:
        return partitions.run_partition(check_id, stage, index, worker=self.request.hostname or "")
    except OperationalError:
        raise
    except Exception as exc:
        logger.exception("check %s: partition %s (%s) failed", check_id, index + 1, stage)
        partitions.fail_partition(check_id, stage, index, error=exc)
        return "failed"


@shared_task(name="checks.tasks.merge_partitions", bind=True, acks_late=True, **RETRY)
def merge_partitions_task(self: Task, _results: list[str], check_id: int, stage: str) -> str:
    """The chord's body: add up the stored figures of the check's partitions (never `_results`) and finish it."""
    try:
        check = partitions.merge_partitions(check_id, stage)
    except OperationalError:
        raise
    except Exception as exc:
        logger.exception("check %s: merging its partitions failed", check_id)
        check = services.fail_check(check_id, error=exc)
    return check.status if check else "merged nothing"


@shared_task(name="checks.tasks.sweep_stuck_checks")
def sweep_stuck_checks() -> dict[str, list[int]]:
    requeued, failed = services.sweep_stuck_checks()
    staged = catch_up_staging()
    return {"requeued": requeued, "failed": failed, "staged": [v.pk for v in staged]}
