"""Celery jobs carry the id of the request that queued them, and each ends in one log line.

`before_task_publish` (in the process that queues the job) puts the current request id into the
message's headers; `task_prerun` (in the worker) makes it current while the job runs, so every
line the job logs carries it; `task_postrun` logs the job's line (task, id, state, duration) and
restores what was current before. A job queued outside any request carries none.
"""

import logging
import time
from contextvars import Token
from typing import Any

from celery import signals

from .context import current_request_id, reset_request_id, set_request_id, valid_request_id

logger = logging.getLogger("pdp.task")

HEADER = "pdp_request_id"

# task id -> (start, the context token to restore): what prerun leaves for postrun in the same thread.
_running: dict[str, tuple[float, Token[str | None]]] = {}


def _on_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = current_request_id()
    if request_id and headers is not None:
        headers[HEADER] = request_id


def _header(task: Any) -> str | None:
    request = getattr(task, "request", None)
    value = getattr(request, HEADER, None) or (getattr(request, "headers", None) or {}).get(HEADER)
    return value if isinstance(value, str) and valid_request_id(value) else None


def _on_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    # A job run in the request's own thread (eager, in tests) keeps the request's id.
    token = set_request_id(_header(task) or current_request_id())
    _running[task_id or ""] = (time.perf_counter(), token)


def _on_postrun(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    started, token = _running.pop(task_id or "", (None, None))
    duration_ms = round((time.perf_counter() - started) * 1000, 2) if started is not None else None
    try:
        logger.info(
            "task %s %s %s",
            getattr(task, "name", "?"),
            task_id,
            state,
            extra={"task": getattr(task, "name", None), "task_id": task_id, "state": state, "duration_ms": duration_ms},
        )
    finally:
        if token is not None:
            reset_request_id(token)


def connect() -> None:
    signals.before_task_publish.connect(_on_publish, weak=False, dispatch_uid="operations.jobs.publish")
    signals.task_prerun.connect(_on_prerun, weak=False, dispatch_uid="operations.jobs.prerun")
    signals.task_postrun.connect(_on_postrun, weak=False, dispatch_uid="operations.jobs.postrun")
