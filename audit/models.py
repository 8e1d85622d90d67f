import hashlib
import json

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Value

GENESIS_HASH = "0" * 64


class AuditEventQuerySet(models.QuerySet):
    def for_target(self, obj):
        """The events about `obj`, including those written under its model's former label (AUDIT_FORMER_LABELS)."""
        labels = [obj._meta.label_lower, *getattr(obj, "AUDIT_FORMER_LABELS", ())]
        return self.filter(target_type__in=labels, target_id=str(obj.pk))

    def timeline(self):
        return self.select_related("actor").order_by("-id")

    def filter_choices(self):
        """The actions, rules and people recorded so far, each sorted (case aside): the audit page's filter lists.

        One query (a UNION of the three), however long the history.
        """
        fields = {"action": "action", "rule": "rule_slug", "person": "actor_name"}
        parts = [
            self.exclude(**{field: ""}).order_by().annotate(kind=Value(kind)).values_list("kind", field).distinct()
            for kind, field in fields.items()
        ]
        found = {kind: [] for kind in fields}
        for kind, value in parts[0].union(*parts[1:]):
            found[kind].append(value)
        return {kind: sorted(values, key=lambda value: (value.casefold(), value)) for kind, values in found.items()}


class AuditEvent(models.Model):
    """One action, allowed or refused. Append-only; each row carries the hash of the one before."""

    class Outcome(models.TextChoices):
        DONE = "done", "done"
        REFUSED = "refused", "refused"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=64)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.DONE)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    # A rule slug when the event concerns one, so a rule's timeline is one indexed query.
    rule_slug = models.CharField(max_length=100, blank=True, db_index=True)
    data = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # An HMAC of `hash` under the audit key, which the database does not hold (audit/signing.py):
    # a row written without the key cannot carry a right one. Rows from before seals were sealed
    # when they came in (migration 0005).
    seal = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["action", "created_at"])]
        triggers = [
            pgtrigger.Protect(name="audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            # TRUNCATE removes rows without a DELETE: refused too, once per statement.
            pgtrigger.Trigger(
                name="audit_no_truncate",
                operation=pgtrigger.Truncate,
                level=pgtrigger.Statement,
                when=pgtrigger.Before,
                func="RAISE EXCEPTION 'pgtrigger: Cannot truncate % table', TG_TABLE_NAME; RETURN NULL;",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.action} {self.outcome} by {self.actor_name or 'system'}"

    def payload(self):
        """The fields the hash covers, in a stable form."""
        return {
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "action": self.action,
            "outcome": self.outcome,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "target_repr": self.target_repr,
            "rule_slug": self.rule_slug,
            "data": self.data,
            "ip": self.ip,
            "created_at": self.created_at.isoformat(),
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self):
        return hash_payload(self.payload())


# The stored fields `payload` reads, in the order `hash_of_row` expects them.
PAYLOAD_FIELDS = (
    "actor_id",
    "actor_name",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "target_repr",
    "rule_slug",
    "data",
    "ip",
    "created_at",
    "prev_hash",
)


def hash_payload(payload):
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_of_row(row):
    """The hash of an event read as a `values_list(*PAYLOAD_FIELDS)` row: the same as `compute_hash`."""
    payload = dict(zip(PAYLOAD_FIELDS, row, strict=True))
    payload["created_at"] = payload["created_at"].isoformat()
    return hash_payload(payload)


class ChainVerificationQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ChainVerification.ACTIVE)

    def for_panel(self):
        """Newest first, with the person who asked: what the audit page's panel reads."""
        return self.select_related("requested_by").order_by("-id")


class ChainVerification(models.Model):
    """One walk of the whole audit chain, run by a worker. Progress state, not history: its result
    goes into the chain as an `audit.verify` event."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        PASSED = "passed", "passed"
        FAILED = "failed", "failed"
        ERROR = "error", "error"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    # How many problems a verification keeps; `problem_count` says how many there were.
    PROBLEMS_KEPT = 20

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # The events there were when the walk started; the walk stops at the last of them.
    total = models.PositiveBigIntegerField(default=0)
    checked = models.PositiveBigIntegerField(default=0)
    problem_count = models.PositiveBigIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Moved on with every progress report: a running walk whose heartbeat stops has been abandoned.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)

    objects = ChainVerificationQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status"], name="audit_verification_status")]

    def __str__(self):
        return f"chain verification #{self.pk} ({self.status})"

    @property
    def is_finished(self):
        return self.status not in self.ACTIVE

    def is_abandoned(self, *, cutoff):
        """Queued since before `cutoff`, or running without a sign of life since then."""
        if self.status == self.Status.QUEUED:
            return self.created_at < cutoff
        if self.status == self.Status.RUNNING:
            return (self.heartbeat_at or self.started_at or self.created_at) < cutoff
        return False


class RefusalTally(models.Model):
    """Identical refused requests from one person within a short window, counted outside the chain.

    The first refusal of a window is an event at once; its repeats only move `count` (no chain lock),
    and one `portal.refused.repeated` event says how many there were when the window is flushed
    (`audit.services.flush_refusal_tallies`, run by the worker every minute and before a new window
    opens), so a script hammering a URL can neither flood the chain nor hold up real appends.
    """

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    status = models.PositiveSmallIntegerField()
    reason = models.CharField(max_length=500, blank=True)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["actor", "method", "path", "status"], name="audit_one_tally_per_refusal")
        ]
        indexes = [models.Index(fields=["first_at"], name="audit_tally_age")]

    def __str__(self):
        return f"{self.method} {self.path} → {self.status} ×{self.count}"


class AuditCheckpoint(models.Model):
    """A signed statement of the chain's end: its last event, that event's hash and how many events
    there were, at a time. Written by the worker every PDP_AUDIT_CHECKPOINT_SECONDS and on demand,
    and exported to PDP_AUDIT_CHECKPOINT_FILE; `verify_audit` checks the history against the latest
    one it is given, which shows a cut end or a rewritten history that the chain alone cannot.
    """

    last_event_id = models.BigIntegerField()
    head_hash = models.CharField(max_length=64)
    events = models.BigIntegerField()
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        triggers = [
            pgtrigger.Protect(name="audit_checkpoint_append_only", operation=pgtrigger.Update | pgtrigger.Delete)
        ]

    def __str__(self):
        return f"checkpoint at event #{self.last_event_id} ({self.events} events)"

    def statement(self):
        """What the signature covers, as exported (with the signature beside it)."""
        return {
            "last_event": self.last_event_id,
            "head_hash": self.head_hash,
            "events": self.events,
            "at": self.created_at.isoformat(),
            "key_id": self.key_id,
        }
