"""Writing and verifying the audit history."""

import contextlib
import json
import time
from collections.abc import Callable, Collection, Iterator
from contextvars import ContextVar
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError, connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from engine.errors import DomainError
from pdp_portal import permissions
from pdp_portal.celery import enqueue_on_commit
from pdp_portal.exceptions import NotPermitted

from . import signing
from .models import (
    GENESIS_HASH,
    PAYLOAD_FIELDS,
    AuditCheckpoint,
    AuditEvent,
    ChainVerification,
    RefusalTally,
    hash_of_row,
)

# The client address of the request being served, set by the adapters (see `request_ip`).
current_ip: ContextVar[str | None] = ContextVar("current_ip", default=None)

# Who an event is about: a person, or None for the system (an anonymous visitor counts as none).
Actor: TypeAlias = User | AnonymousUser | None
_M = TypeVar("_M", bound=models.Model)

# Any number will do: it only has to be the same in every process.
_CHAIN_LOCK_KEY = 7_230_001
_VERIFY_LOCK_KEY = 7_230_002
# Events read per query while verifying; progress is reported after each batch.
VERIFY_BATCH = 5000


def _target_fields(target: models.Model | None) -> dict[str, str]:
    if target is None:
        return {"target_type": "", "target_id": "", "target_repr": "", "rule_slug": ""}
    rule_slug = getattr(target, "audit_rule_slug", "")
    return {
        "target_type": target._meta.label_lower,
        "target_id": str(target.pk) if target.pk is not None else "",
        "target_repr": str(target)[:200],
        "rule_slug": rule_slug or "",
    }


def _stable(value: Any) -> Any:
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


def _lock_chain() -> None:
    """Serialize appends (and checkpoints) so every row links to the one committed before it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
    # On SQLite, transactions begin IMMEDIATE: the write lock is already ours.


def record_event(
    action: str,
    *,
    actor: Actor,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
    outcome: str = AuditEvent.Outcome.DONE,
    rule_slug: str = "",
) -> AuditEvent:
    """Append one event to the chain. Call inside the service's transaction."""
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            actor=actor if not isinstance(actor, AnonymousUser) and getattr(actor, "pk", None) else None,
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
        event.seal = signing.seal(event.hash)
        event.save()
    return event


@contextlib.contextmanager
def refusals_recorded(
    action: str, *, actor: Actor, target: models.Model | None = None, data: dict[str, Any] | None = None
) -> Iterator[None]:
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


def record_refusal(*, actor: User, method: str, path: str, status: int, reason: str) -> AuditEvent | None:
    """A signed-in person's refused request: one `portal.refused` event for the first of a window of
    PDP_REFUSAL_WINDOW_SECONDS, then only a count until the window is flushed (see RefusalTally).

    Returns the event written, or None for a repeat that was only counted.
    """
    now = timezone.now()
    key = {"actor": actor, "method": method, "path": path[:500], "status": status}
    window = timedelta(seconds=settings.PDP_REFUSAL_WINDOW_SECONDS)
    # A repeat within the window: one UPDATE of its tally, no chain lock.
    if RefusalTally.objects.filter(**key, first_at__gt=now - window).update(count=models.F("count") + 1, last_at=now):
        return None
    with transaction.atomic():
        tally = RefusalTally.objects.select_for_update().filter(**key).first()
        if tally is not None and tally.first_at > now - window:
            # Another refusal opened this window after the UPDATE above looked: count into it.
            RefusalTally.objects.filter(pk=tally.pk).update(count=models.F("count") + 1, last_at=now)
            return None
        if tally is not None:
            _flush_tally(tally)
        try:
            with transaction.atomic():
                RefusalTally.objects.create(**key, reason=reason[:500], first_at=now, last_at=now)
        except IntegrityError:  # the same refusal, at the same moment, opened the window first
            RefusalTally.objects.filter(**key).update(count=models.F("count") + 1, last_at=now)
            return None
        return record_event(
            "portal.refused",
            actor=actor,
            outcome=AuditEvent.Outcome.REFUSED,
            data={"method": method, "path": path[:500], "status": status, "reason": reason[:500]},
        )


def _flush_tally(tally: RefusalTally) -> None:
    if tally.count > 1:
        record_event(
            "portal.refused.repeated",
            actor=tally.actor,
            outcome=AuditEvent.Outcome.REFUSED,
            data={
                "method": tally.method,
                "path": tally.path,
                "status": tally.status,
                "reason": tally.reason,
                "repeats": tally.count - 1,
                "first_at": tally.first_at.isoformat(),
                "last_at": tally.last_at.isoformat(),
            },
        )
    tally.delete()


def flush_refusal_tallies() -> int:
    """Write one `portal.refused.repeated` event for each window that has closed with repeats; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.PDP_REFUSAL_WINDOW_SECONDS)
    written = 0
    for pk in RefusalTally.objects.filter(first_at__lte=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            tally = RefusalTally.objects.select_for_update().select_related("actor").filter(pk=pk).first()
            if tally is None:
                continue  # flushed by a refusal that opened a new window
            written += tally.count > 1
            _flush_tally(tally)
    return written


def verify_chain(
    *, progress: Callable[[int], object] | None = None, through: int | None = None, batch_size: int = VERIFY_BATCH
) -> tuple[int, list[str]]:
    """Walk the chain in order. Returns (checked_count, problems) where problems lists breaks.

    Each event must link to the one before, hash to its stored hash, and carry the seal of that
    hash under the audit key.
    `through`: stop at this event id (the events there were when a verification started).
    `progress(checked)` is called after every batch of `batch_size` events.
    """
    problems = []
    expected_prev = GENESIS_HASH
    count = 0
    # Plain rows rather than model instances: a long history verifies several times faster.
    rows = AuditEvent.objects.order_by("id").values_list("pk", "hash", "seal", *PAYLOAD_FIELDS)
    if through is not None:
        rows = rows.filter(id__lte=through)
    prev_index = 3 + PAYLOAD_FIELDS.index("prev_hash")
    after = None
    while True:
        # Batches read by id, each its own query: no read stays open between them, so the progress
        # callback can write (SQLite refuses a write on a connection whose read began before
        # another process wrote).
        batch = list((rows if after is None else rows.filter(id__gt=after))[:batch_size])
        for row in batch:
            count += 1
            pk, stored, seal = row[0], row[1], row[2]
            if row[prev_index] != expected_prev:
                problems.append(f"event #{pk}: prev_hash does not match the hash of the event before it")
            if hash_of_row(row[3:]) != stored:
                problems.append(f"event #{pk}: stored hash does not match its content")
            if not signing.seal_matches(stored, seal):
                problems.append(f"event #{pk}: its seal is not the audit key's: it was written without the key")
            expected_prev = stored
        if batch and progress is not None:
            progress(count)
        if len(batch) < batch_size:
            return count, problems
        after = batch[-1][0]


def write_checkpoint() -> AuditCheckpoint | None:
    """Sign the chain's end now and export it: a new AuditCheckpoint, its line appended to
    PDP_AUDIT_CHECKPOINT_FILE. None when the history is empty; the latest checkpoint when no event
    has been added since it.

    It writes no event of its own: the append-only checkpoint row is its record, and an event would
    move the end it has just signed, so every periodic checkpoint would find a new event to sign.
    """
    with transaction.atomic():
        _lock_chain()  # the end cannot move while it is read
        head = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
        if head is None:
            return None
        latest = AuditCheckpoint.objects.order_by("-id").first()
        if latest is not None and latest.last_event_id == head[0] and latest.key_id == signing.key_id():
            return latest
        checkpoint = AuditCheckpoint(
            last_event_id=head[0],
            head_hash=head[1],
            events=AuditEvent.objects.filter(id__lte=head[0]).count(),
            created_at=timezone.now(),
            key_id=signing.key_id(),
        )
        checkpoint.signature = signing.sign(checkpoint.statement())
        checkpoint.save()
        # Exported before the commit: a line whose row then rolled back still states a true end.
        path = Path(settings.PDP_AUDIT_CHECKPOINT_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as export:
            export.write(json.dumps({**checkpoint.statement(), "signature": checkpoint.signature}) + "\n")
    return checkpoint


class CheckpointUnreadable(ValueError):
    """An exported checkpoint file that cannot be read: its path and line are in the message."""


def read_checkpoint_file(path: str | Path) -> dict[str, Any] | None:
    """The latest checkpoint in an exported file (the one at the highest event), or None if it has none."""
    latest: dict[str, Any] | None = None
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointUnreadable(f"{path}: cannot be read ({exc}).") from exc
    fields = {"last_event": int, "head_hash": str, "events": int, "at": str, "key_id": str, "signature": str}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise CheckpointUnreadable(f"{path}, line {number}: not a checkpoint ({exc}).") from exc
        if not isinstance(entry, dict) or set(entry) != set(fields):
            raise CheckpointUnreadable(f"{path}, line {number}: a checkpoint has exactly {', '.join(fields)}.")
        if any(type(entry[name]) is not kind for name, kind in fields.items()):
            raise CheckpointUnreadable(f"{path}, line {number}: a field has the wrong type.")
        if latest is None or entry["last_event"] >= latest["last_event"]:
            latest = entry
    return latest


def verify_against_checkpoint(checkpoint: dict[str, Any]) -> tuple[int, list[str]]:
    """Check the history against a signed checkpoint: (events written since it, problems).

    The signature must be the audit key's; the checkpoint's last event must still be there with the
    hash it had, and as many events up to it as it counted. Rows cut from the end, a history
    rehashed after an edit, and rows removed and rehashed all fail one of these.
    """
    statement = {name: value for name, value in checkpoint.items() if name != "signature"}
    at, seq = checkpoint["at"], checkpoint["last_event"]
    if checkpoint["key_id"] != signing.key_id():
        return 0, [f"the checkpoint of {at} was signed with key {checkpoint['key_id']}, not this portal's audit key"]
    if not signing.signature_matches(statement, checkpoint["signature"]):
        return 0, [f"the checkpoint of {at} does not carry the audit key's signature: it was altered or forged"]
    problems = []
    head = AuditEvent.objects.filter(id=seq).values_list("hash", flat=True).first()
    if head is None:
        problems.append(f"event #{seq}, the last one the checkpoint of {at} signed, is gone: the history was cut")
    elif head != checkpoint["head_hash"]:
        problems.append(f"event #{seq} is not the one the checkpoint of {at} signed: the history was rewritten")
    counted = AuditEvent.objects.filter(id__lte=seq).count()
    if counted != checkpoint["events"]:
        problems.append(
            f"{counted} events up to #{seq}, where the checkpoint of {at} counted {checkpoint['events']}: "
            "events were removed or added"
        )
    return AuditEvent.objects.filter(id__gt=seq).count(), problems


def latest_checkpoint() -> dict[str, Any] | None:
    """The latest checkpoint the database holds, as exported (its signature is checked when used)."""
    checkpoint = AuditCheckpoint.objects.order_by("-last_event_id", "-id").first()
    if checkpoint is None:
        return None
    return {**checkpoint.statement(), "signature": checkpoint.signature}


def _lock_verifications() -> None:
    """Serialize requests for a verification, so two at once cannot both start one."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_VERIFY_LOCK_KEY])
    # On SQLite, transactions begin IMMEDIATE: the write lock is already ours.


def request_chain_verification(*, actor: User) -> ChainVerification:
    """Queue a walk of the whole chain, or return the one queued or running. Records `audit.verify.request`.

    A verification queued or silent for longer than PDP_STUCK_CHECK_SECONDS is marked `error`
    and replaced (its message was lost or its worker died).
    """
    with refusals_recorded("audit.verify.request", actor=actor):
        if not permissions.can_read_audit(actor):
            raise NotPermitted("The audit history is for release managers and administrators; ask one of them.")
        with transaction.atomic():
            _lock_verifications()
            current = ChainVerification.objects.select_for_update().active().order_by("-id").first()
            replaced = None
            if current is not None:
                cutoff = timezone.now() - timedelta(seconds=settings.PDP_STUCK_CHECK_SECONDS)
                if not current.is_abandoned(cutoff=cutoff):
                    return current
                current.status = ChainVerification.Status.ERROR
                current.finished_at = timezone.now()
                current.note = f"Abandoned: no progress for {settings.PDP_STUCK_CHECK_SECONDS} s; started again."
                current.save(update_fields=["status", "finished_at", "note"])
                replaced = current.pk
            verification = ChainVerification.objects.create(requested_by=actor)
            record_event(
                "audit.verify.request",
                actor=actor,
                target=verification,
                data={"verification": verification.pk, **({"replaced": replaced} if replaced else {})},
            )
            _enqueue_verification(verification.pk)
    return verification


def _enqueue_verification(verification_id: int) -> None:
    enqueue_on_commit("audit.tasks.verify_chain", verification_id)


def run_chain_verification(verification_id: int) -> ChainVerification | None:
    """Walk the chain for a queued verification and store its result with one `audit.verify` event.

    Idempotent: a finished verification is returned as it is; one found running (a re-delivered
    task whose worker died) starts again from the first event.
    """
    with transaction.atomic():
        verification = ChainVerification.objects.select_for_update().filter(pk=verification_id).first()
        if verification is None or verification.is_finished:
            return verification
        through = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        now = timezone.now()
        verification.status = ChainVerification.Status.RUNNING
        verification.total = AuditEvent.objects.filter(id__lte=through).count()
        verification.checked = 0
        verification.started_at = verification.heartbeat_at = now
        verification.save(update_fields=["status", "total", "checked", "started_at", "heartbeat_at"])
    # This run's start time tells its writes from those of another delivery of the same job.
    mine = ChainVerification.objects.filter(pk=verification_id, status=ChainVerification.Status.RUNNING, started_at=now)

    def progress(checked: int) -> None:
        mine.update(checked=checked, heartbeat_at=timezone.now())

    started = time.perf_counter()
    checked, problems = verify_chain(progress=progress, through=through)
    # Against the latest checkpoint the database holds (the exported file is the stronger check:
    # verify_audit), so a cut end shows on the panel too.
    checkpoint = latest_checkpoint()
    if checkpoint is not None and checkpoint["last_event"] <= through:
        problems += verify_against_checkpoint(checkpoint)[1]
    duration = round(time.perf_counter() - started, 3)
    with transaction.atomic():
        verification = mine.select_for_update().first()
        if verification is None:
            # Abandoned while this ran, or taken over by another delivery: its result is not ours to write.
            return ChainVerification.objects.filter(pk=verification_id).first()
        verification.status = ChainVerification.Status.FAILED if problems else ChainVerification.Status.PASSED
        verification.checked = checked
        verification.problem_count = len(problems)
        verification.problems = problems[: ChainVerification.PROBLEMS_KEPT]
        verification.finished_at = timezone.now()
        verification.duration_s = duration
        verification.save(update_fields=["status", "checked", "problem_count", "problems", "finished_at", "duration_s"])
        record_event(
            "audit.verify",
            actor=verification.requested_by,
            target=verification,
            data={
                "checked": checked,
                "ok": not problems,
                "problems": len(problems),
                "duration_s": duration,
                "verification": verification.pk,
                **({"checkpoint": checkpoint["last_event"]} if checkpoint is not None else {}),
            },
        )
    return verification


def request_ip(request: HttpRequest) -> str | None:
    """The client address (REMOTE_ADDR; a proxy in front must set it, see docs/operation.md)."""
    return request.META.get("REMOTE_ADDR") or None


def save_reference_record(obj: _M, *, actor: Actor, changed_fields: Collection[str], created: bool) -> _M:
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


def delete_reference_record(obj: models.Model, *, actor: Actor) -> None:
    """Delete a reference record (fund, test account, ...) with its event."""
    label = obj._meta.model_name
    with transaction.atomic():
        record_event(f"{label}.delete", actor=actor, target=obj, data={"repr": str(obj)})
        obj.delete()
