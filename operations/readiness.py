"""Readiness: is each part the portal needs answering? Each check returns (ok, detail) and is timed.

- database: a trivial query;
- broker: Redis or RabbitMQ answers a connection within BROKER_TIMEOUT seconds; the embedded
  filesystem broker's folders exist and are writable;
- worker: some Celery worker ran the beat task less than PDP_DEAD_WORKER_SECONDS ago;
- audit_chain: the newest audit event's hash recomputes from its content and its seal is the
  audit key's (an empty history is fine). The whole chain is walked by the scheduled verification
  (/metrics: pdp_audit_chain_verified), not here: a probe must stay fast.
"""

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from audit import signing
from audit.models import AuditEvent

from .models import WorkerBeat

BROKER_TIMEOUT = 1.0

Check = Callable[[], tuple[bool, str]]


@dataclass
class Component:
    name: str
    ok: bool
    detail: str
    ms: float

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "detail": self.detail, "ms": self.ms}


def check_database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, connection.vendor


def check_broker() -> tuple[bool, str]:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem://"):
        options = {key: str(value) for key, value in settings.CELERY_BROKER_TRANSPORT_OPTIONS.items()}
        folders = {options["data_folder_in"], options["data_folder_out"], options["control_folder"]}
        # Where pdp_portal/broker.py writes a message before renaming it in, and claims one.
        folders |= {str(Path(options["data_folder_in"]).parent / sub) for sub in ("tmp", "claimed")}
        for folder in sorted(folders):
            if not os.path.isdir(folder):
                return False, f"broker folder {folder} is missing"
            try:
                with tempfile.NamedTemporaryFile(dir=folder, prefix=".ready-"):
                    pass
            except OSError as exc:
                return False, f"broker folder {folder} is not writable: {exc.strerror}"
        return True, "filesystem broker folders writable"
    scheme = url.split("://", 1)[0]
    if scheme.startswith("redis") or scheme == "rediss":
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=BROKER_TIMEOUT, socket_timeout=BROKER_TIMEOUT)
        try:
            client.ping()
        except redis.RedisError as exc:
            return False, f"redis broker does not answer: {exc}"
        finally:
            client.close()
        return True, "redis broker answers"
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=BROKER_TIMEOUT) as conn:
            conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
    except Exception as exc:  # noqa: BLE001 - kombu raises the transport's own errors; any of them means not ready
        return False, f"{scheme} broker does not answer: {exc}"
    return True, f"{scheme} broker answers"


def check_worker() -> tuple[bool, str]:
    beat = WorkerBeat.objects.newest()
    if beat is None:
        return False, "no worker has beaten yet"
    age = (timezone.now() - beat.beat_at).total_seconds()
    limit = settings.PDP_DEAD_WORKER_SECONDS
    if age >= limit:
        return False, f"newest worker beat ({beat.hostname}) is {age:.0f}s old (limit {limit}s)"
    return True, f"{beat.hostname} beat {age:.1f}s ago"


def check_audit_chain() -> tuple[bool, str]:
    head = AuditEvent.objects.order_by("-id").first()
    if head is None:
        return True, "empty history"
    if head.compute_hash() != head.hash:
        return False, f"event #{head.pk}: stored hash does not match its content"
    if not signing.seal_matches(head.hash, head.seal):
        return False, f"event #{head.pk}: its seal is not the audit key's"
    return True, f"head #{head.pk} verifies"


CHECKS: dict[str, Check] = {
    "database": check_database,
    "broker": check_broker,
    "worker": check_worker,
    "audit_chain": check_audit_chain,
}
# What the checks after the database need of it: without it they are not run but reported failed.
NEEDS_DATABASE = ("worker", "audit_chain")


def run_checks() -> list[Component]:
    results = []
    database_ok = True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        if name in NEEDS_DATABASE and not database_ok:
            ok, detail = False, "not checked: the database does not answer"
        else:
            try:
                ok, detail = check()
            except DatabaseError as exc:
                ok, detail = False, f"database error: {exc}".strip()[:300]
        if name == "database":
            database_ok = ok
        results.append(Component(name, ok, detail, round((time.perf_counter() - started) * 1000, 2)))
    return results
