"""Writing and verifying the audit history."""

import contextlib
import time
from contextvars import ContextVar

from django.db import connection, transaction
from django.utils import timezone

from pdp_portal.exceptions import DomainError

from .models import GENESIS_HASH, PAYLOAD_FIELDS, AuditEvent, hash_of_row

# The client address of the request being served, set by the adapters (see `request_ip`).
current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)

# Any number will do: it only has to be the same in every process.
_CHAIN_LOCK_KEY = 7_230_001


def _target_fields(target):
    if target is None:
        return {"target_type": "", "target_id": "", "target_repr": "", "rule_slug": ""}
    rule_slug = getattr(target, "audit_rule_slug", "")
    return {
        "target_type": target._meta.label_lower,
        "target_id": str(target.pk) if target.pk is not None else "",
        "target_repr": str(target)[:200],
        "rule_slug": rule_slug or "",
    }


def _stable(value):
    """Data as it will read back from any database: an integral float becomes an int.

    PostgreSQL's jsonb stores numbers as `numeric` and gives 1e16 back as 10000000000000000; the
    hash must be taken over the value the row will hold, or the chain breaks on reading it back.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _stable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stable(v) for v in value]
    return value


def record_event(action, *, actor, target=None, data=None, outcome=AuditEvent.Outcome.DONE, rule_slug=""):
    """Append one event to the chain. Call inside the service's transaction."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Serialize appends so every row links to the one committed before it.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        # On SQLite, transactions begin IMMEDIATE: the write lock is already ours.
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            actor=actor if getattr(actor, "pk", None) else None,
            actor_name=getattr(actor, "username", "") or "",
            action=action,
            outcome=outcome,
            data=_stable(data or {}),
            ip=current_ip.get(),
            created_at=timezone.now(),
            prev_hash=last or GENESIS_HASH,
            **_target_fields(target),
        )
        if rule_slug:
            event.rule_slug = rule_slug
        event.hash = event.compute_hash()
        event.save()
    return event


@contextlib.contextmanager
def refusals_recorded(action, *, actor, target=None, data=None):
    """Record a refused action in its own transaction, then let the refusal propagate.

    The service's own transaction has rolled back by the time the error reaches here, so the
    refusal event is the only write the attempt leaves.
    """
    try:
        yield
    except DomainError as exc:
        record_event(
            action,
            actor=actor,
            target=target,
            outcome=AuditEvent.Outcome.REFUSED,
            data={**(data or {}), "reason": exc.message, "code": exc.code},
        )
        raise


def verify_chain():
    """Walk the chain in order. Returns (checked_count, problems) where problems lists breaks."""
    problems = []
    expected_prev = GENESIS_HASH
    count = 0
    # Plain rows rather than model instances: a long history verifies several times faster.
    rows = AuditEvent.objects.order_by("id").values_list("pk", "hash", *PAYLOAD_FIELDS)
    prev_index = 2 + PAYLOAD_FIELDS.index("prev_hash")
    for row in rows.iterator(chunk_size=5000):
        count += 1
        pk, stored = row[0], row[1]
        if row[prev_index] != expected_prev:
            problems.append(f"event #{pk}: prev_hash does not match the hash of the event before it")
        if hash_of_row(row[2:]) != stored:
            problems.append(f"event #{pk}: stored hash does not match its content")
        expected_prev = stored
    return count, problems


def verify_chain_recorded(*, actor):
    """Verify the whole chain and record that it was verified, with the result. Returns (count, problems, seconds)."""
    started = time.perf_counter()
    checked, problems = verify_chain()
    duration = time.perf_counter() - started
    record_event(
        "audit.verify",
        actor=actor,
        data={"checked": checked, "ok": not problems, "problems": len(problems), "duration_s": round(duration, 3)},
    )
    return checked, problems, duration


def request_ip(request):
    """The client address (REMOTE_ADDR; a proxy in front must set it, see docs/operation.md)."""
    return request.META.get("REMOTE_ADDR") or None


def save_reference_record(obj, *, actor, changed_fields, created):
    """Save a reference record edited by an administrator (fund, test account, ...) with its event."""
    label = obj._meta.model_name
    with transaction.atomic():
        obj.save()
        record_event(
            f"{label}.{'create' if created else 'change'}",
            actor=actor,
            target=obj,
            data={"changed": sorted(changed_fields), "values": {f: str(getattr(obj, f, "")) for f in changed_fields}},
        )
    return obj


def delete_reference_record(obj, *, actor):
    """Delete a reference record (fund, test account, ...) with its event."""
    label = obj._meta.model_name
    with transaction.atomic():
        record_event(f"{label}.delete", actor=actor, target=obj, data={"repr": str(obj)})
        obj.delete()
