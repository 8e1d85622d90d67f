"""The operations app's writes: the worker's beat and the scheduled audit chain verification.

Neither writes an audit event. Both are the system observing itself, not an action on the domain:
an event every 10 s per worker would make the history mostly heartbeats, and a verification that
appended to the chain it checks would move the head it was measuring. Their rows are their record,
and a failed verification is also logged at ERROR and shown by /metrics.
"""

import logging
import time

from django.db import transaction
from django.utils import timezone

from audit.services import verify_chain

from .models import AuditChainCheck, WorkerBeat

logger = logging.getLogger(__name__)

PROBLEMS_KEPT = 20


def record_worker_beat(hostname: str) -> WorkerBeat:
    """Move `hostname`'s beat to now (creating its row the first time)."""
    beat, _ = WorkerBeat.objects.update_or_create(hostname=hostname[:200], defaults={"beat_at": timezone.now()})
    return beat


def verify_audit_chain() -> AuditChainCheck:
    """Walk the whole audit chain (audit.services.verify_chain) and record the result as a new AuditChainCheck."""
    started = time.perf_counter()
    checked, problems = verify_chain()
    with transaction.atomic():
        check = AuditChainCheck.objects.create(
            verified=not problems,
            checked=checked,
            problem_count=len(problems),
            problems=problems[:PROBLEMS_KEPT],
            finished_at=timezone.now(),
            duration_s=time.perf_counter() - started,
        )
    if problems:
        logger.error(
            "Audit chain verification failed: %d problem(s) in %d events; first: %s",
            len(problems),
            checked,
            problems[0],
            extra={"audit_problems": len(problems), "audit_checked": checked},
        )
    return check
