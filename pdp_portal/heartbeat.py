"""A job's heartbeat, beaten from a thread of its own while the job works."""

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def beating(mine: "QuerySet[Any]", *, name: str) -> Iterator[None]:
    """Set `heartbeat_at` on the rows of `mine` (the job's own row, as long as it is still this attempt's) every
    PDP_HEARTBEAT_SECONDS until the block ends.

    A stage that reports no progress for a while (reading a large file) still beats, so a heartbeat
    older than PDP_DEAD_WORKER_SECONDS means the worker is gone, and a sweeper may take the job up again.
    """
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.PDP_HEARTBEAT_SECONDS):
                try:
                    mine.update(heartbeat_at=timezone.now())
                except DatabaseError as exc:  # a missed beat is not the job's failure; the next one may land
                    logger.warning("%s: heartbeat not written: %s", name, exc)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"{name}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
