"""What the decision log answers: a candidate replayed against production's latest decisions, what a
rollback would change for the decisions made since the version went live, and the log's retention."""

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from audit.services import record_event, refusals_recorded
from deployments.models import Deployment, Environment, Release
from deployments.services import parse_target, previous_version
from engine.batch import ColumnDecider
from engine.document import parse_canonical, validity, why_not_in_force
from engine.errors import InvalidInput
from pdp_portal import permissions
from pdp_portal.exceptions import NotPermitted, ReleaseRefused
from pdp_portal.permissions import PortalUser
from rules.models import Rule, RuleVersion

from .models import DecisionBatch
from .recorder import read_decisions

# The most decisions one page's comparison reads; the counts above it come from the batches' totals.
COMPARED_AT_MOST = 200_000
EXAMPLES = 20


@dataclass
class Difference:
    """One recorded decision that the other version would answer differently."""

    request_id: str
    at: datetime
    account: str
    eligible_before: bool
    amount_before: float
    eligible_after: bool | None
    amount_after: float | None
    error_after: str | None
    inputs: str | None

    @property
    def kind(self) -> str:
        if self.error_after is not None:
            return "error"
        if not self.eligible_before and self.eligible_after:
            return "newly eligible"
        if self.eligible_before and not self.eligible_after:
            return "no longer eligible"
        return "amount changes"


@dataclass
class Impact:
    """Recorded decisions, decided again by another version (or by nothing: v0)."""

    compared: int = 0
    changed: int = 0
    newly_eligible: int = 0
    no_longer_eligible: int = 0
    amount_changes: int = 0
    errors: int = 0
    not_in_force: int = 0  # decided again by a version not in force on the day those decisions were for
    eligible_before: int = 0
    eligible_after: int = 0
    cost_before: float = 0.0
    cost_after: float = 0.0
    without_inputs: int = 0  # recorded, but their inputs are past retention: not decided again
    accounts_hashed: bool = False
    examples: list[Difference] = field(default_factory=list)

    @property
    def cost_delta(self) -> float:
        return round(self.cost_after - self.cost_before, 2)


@dataclass
class _Candidate:
    """A version to decide recorded decisions again: its rule, and the days it is in force."""

    decider: ColumnDecider
    valid_from: date | None
    valid_to: date | None

    def decide(self, rows: list[dict[str, Any]]) -> list[Any]:
        """Each row's answer; (False, 0.0) where the version is not in force on the day the decision was for."""
        answers: list[Any] = list(self.decider.decide([json.loads(row["inputs"]) for row in rows]))
        for index, row in enumerate(rows):
            if row["on"] is not None and why_not_in_force(self.valid_from, self.valid_to, row["on"]):
                answers[index] = NOT_IN_FORCE
        return answers


# The answer of a version not in force on the day: no one eligible, nothing paid.
NOT_IN_FORCE = (False, 0.0)


def _decider(version: RuleVersion | None) -> _Candidate | None:
    if version is None:
        return None
    document = parse_canonical(version.document)
    return _Candidate(ColumnDecider(document), *validity(document))


def _frames(batches: Any, limit: int | None, since: datetime | None = None) -> Iterator[pl.DataFrame]:
    """The batches' decisions (in force, answered, at or after `since`), in the batches' order, at most
    `limit` rows in all (the newest of each batch first)."""
    left = limit
    for batch in batches.iterator(chunk_size=50):
        kept = pl.col("in_force") & pl.col("error").is_null()
        if since is not None:
            # Before the limit, so decisions made before the version went live take no place in it.
            kept &= pl.col("at") >= since
        frame = read_decisions(batch).filter(kept)
        frame = frame.with_columns(pl.lit(batch.accounts_hashed).alias("hashed"))
        if left is not None:
            frame = frame.sort("at", descending=True).head(left)
            left -= frame.height
        if frame.height:
            yield frame
        if left is not None and left <= 0:
            return


def _compare(frames: Iterator[pl.DataFrame], after: _Candidate | None, impact: Impact) -> Iterator[Difference]:
    """Every difference, as found; `impact` counts as it goes."""
    for frame in frames:
        impact.accounts_hashed |= bool(frame["hashed"].any())
        # v0 answers "not eligible" to everyone: it needs no inputs, so none is left out for want of them.
        with_inputs = frame if after is None else frame.filter(pl.col("inputs").is_not_null())
        impact.without_inputs += frame.height - with_inputs.height
        rows = with_inputs.to_dicts()
        answers = [NOT_IN_FORCE] * len(rows) if after is None else after.decide(rows)
        for row, answer in zip(rows, answers, strict=True):
            impact.compared += 1
            before_eligible, before_amount = bool(row["eligible"]), float(row["amount"] or 0.0)
            impact.eligible_before += before_eligible
            impact.cost_before += before_amount if before_eligible else 0.0
            if isinstance(answer, Exception):
                after_eligible, after_amount, error = None, None, str(answer)
                impact.errors += 1
            else:
                impact.not_in_force += answer is NOT_IN_FORCE and after is not None
                after_eligible, after_amount, error = answer[0], round(answer[1], 2), None
                impact.eligible_after += bool(after_eligible)
                impact.cost_after += after_amount if after_eligible else 0.0
            if error is None and after_eligible == before_eligible and after_amount == before_amount:
                continue
            difference = Difference(
                request_id=row["request_id"],
                at=row["at"],
                account=row["account"],
                eligible_before=before_eligible,
                amount_before=before_amount,
                eligible_after=after_eligible,
                amount_after=after_amount,
                error_after=error,
                inputs=row["inputs"],
            )
            impact.changed += 1
            kind = difference.kind
            impact.newly_eligible += kind == "newly eligible"
            impact.no_longer_eligible += kind == "no longer eligible"
            impact.amount_changes += kind == "amount changes"
            if len(impact.examples) < EXAMPLES:
                impact.examples.append(difference)
            yield difference
    impact.cost_before, impact.cost_after = round(impact.cost_before, 2), round(impact.cost_after, 2)


def _drain(differences: Iterator[Difference]) -> None:
    for _ in differences:
        pass


# --------------------------------------------------------------------------------- impact replay


def replay(version: RuleVersion, *, limit: int | None = None) -> Impact:
    """The rule's latest `limit` production decisions (PDP_REPLAY_DECISIONS), decided again by `version`."""
    limit = limit or settings.PDP_REPLAY_DECISIONS
    batches = DecisionBatch.objects.filter(rule_id=version.rule_id, environment=Environment.PRODUCTION).order_by(
        "-last_at", "-id"
    )
    impact = Impact()
    _drain(_compare(_frames(batches, limit), _decider(version), impact))
    return impact


# ------------------------------------------------------------------------------ before a rollback


@dataclass
class RollbackImpact:
    """What rolling `environment` back from `current` to `target` does to the decisions made since."""

    rule: Rule
    environment: str
    current: RuleVersion | None
    target: RuleVersion | None
    live_since: datetime | None
    made: int  # decisions made under `current` since it went live
    impact: Impact
    compared_all: bool  # False when more were made than one comparison reads


def _live(rule: Rule, environment: str) -> RuleVersion | None:
    """The version live in `environment`; None for v0, or where the rule was never released."""
    release = Release.objects.select_related("version").filter(rule=rule, environment__name=environment).first()
    return None if release is None else release.version


def _went_live(rule: Rule, environment: str, version: RuleVersion) -> datetime | None:
    move = (
        Deployment.objects.filter(rule=rule, environment__name=environment, to_version=version)
        .order_by("-created_at", "-id")
        .values_list("created_at", flat=True)
        .first()
    )
    return move


def _since(rule: Rule, environment: str, current: RuleVersion, since: datetime | None) -> Any:
    batches = DecisionBatch.objects.filter(rule=rule, environment=environment, version=current)
    if since is not None:
        batches = batches.filter(last_at__gte=since)
    return batches


def rollback_impact(rule: Rule, environment: str, target: RuleVersion | None) -> RollbackImpact:
    """How many decisions were made under the version live in `environment` since it went live, and how
    many of them `target` (None: v0, no rule) would answer differently, with examples."""
    current = _live(rule, environment)
    if current is None:
        return RollbackImpact(rule, environment, None, target, None, 0, Impact(), True)
    since = _went_live(rule, environment, current)
    batches = _since(rule, environment, current, since)
    made = _made(batches, since)
    impact = Impact()
    newest_first = batches.order_by("-last_at", "-id")
    _drain(_compare(_frames(newest_first, COMPARED_AT_MOST, since), _decider(target), impact))
    return RollbackImpact(rule, environment, current, target, since, made, impact, made <= COMPARED_AT_MOST)


def _made(batches: Any, since: datetime | None) -> int:
    """Decisions in these batches at or after `since`: whole batches by their totals, the one batch
    that straddles the moment row by row."""
    if since is None:
        return batches.aggregate(n=Sum("count"))["n"] or 0
    whole = batches.filter(first_at__gte=since).aggregate(n=Sum("count"))["n"] or 0
    partial = 0
    for batch in batches.filter(first_at__lt=since):
        partial += read_decisions(batch).filter(pl.col("at") >= since).height
    return whole + partial


CSV_HEADER = [
    "request_id",
    "decided_at",
    "account",
    "eligible_before",
    "amount_before",
    "eligible_after",
    "amount_after",
    "error_after",
    "change",
    "inputs",
]


def rollback_impact_csv(rule: Rule, environment: str, target: RuleVersion | None) -> Iterator[str]:
    """Every decision made since the live version went live that `target` would answer differently, as
    CSV lines (all of them, not only the examples), for follow-up."""
    current = _live(rule, environment)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    yield _take(out)
    if current is None:
        return
    since = _went_live(rule, environment, current)
    batches = _since(rule, environment, current, since).order_by("last_at", "id")
    for difference in _compare(_frames(batches, None, since), _decider(target), Impact()):
        writer.writerow(
            [
                _cell(difference.request_id),
                difference.at.isoformat(),
                _cell(difference.account),
                difference.eligible_before,
                difference.amount_before,
                "" if difference.eligible_after is None else difference.eligible_after,
                "" if difference.amount_after is None else difference.amount_after,
                _cell(difference.error_after or ""),
                difference.kind,
                _cell(difference.inputs or ""),
            ]
        )
        yield _take(out)


def rollback_target(rule: Rule, environment: str, to: str) -> RuleVersion | None:
    """The version a rollback of `environment` to `to` ('previous', 'v0', 'vN') would put live, as the
    rollback service resolves it; InvalidInput or ReleaseRefused when it would refuse the target."""
    target = parse_target(to)
    release = (
        Release.objects.select_related("environment", "version")
        .filter(rule=rule, environment__name=environment)
        .first()
    )
    if release is None:
        raise InvalidInput.at("environment", f"{rule.display_name} has no {environment!r} environment.")
    if target == "previous":
        return previous_version(release)
    if target == 0:
        return None
    version = RuleVersion.objects.filter(rule=rule, number=target).first()
    if version is None:
        raise InvalidInput.at("to", f"{rule.display_name} has no v{target}.")
    if not Deployment.objects.ever_served(version, release.environment).exists():
        raise ReleaseRefused.at(
            "to", f"v{target} was never live on {environment}; a rollback goes only to a version live there before."
        )
    return version


def export_rollback_impact(
    rule: Rule, *, actor: PortalUser, environment: str, target: RuleVersion | None
) -> Iterator[str]:
    """The affected decisions' CSV (rollback_impact_csv) for someone who may roll back; records
    decision_log.export, since the file holds account ids. NotPermitted (recorded) otherwise."""
    data = {"environment": environment, "to": target.label if target is not None else "v0"}
    with refusals_recorded("decision_log.export", actor=actor, target=rule, data=data):
        if not permissions.can_rollback(actor):
            raise NotPermitted("You may not export decisions; this takes the release manager role.")
        record_event("decision_log.export", actor=actor, target=rule, data=data)
    return rollback_impact_csv(rule, environment, target)


def _take(out: io.StringIO) -> str:
    text = out.getvalue()
    out.seek(0)
    out.truncate()
    return text


def _cell(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# ------------------------------------------------------------------------------------- retention


def purge_decision_log(*, now: datetime | None = None) -> dict[str, int]:
    """Remove what retention says to: the inputs after PDP_DECISION_LOG_INPUTS_DAYS, the decisions after
    PDP_DECISION_LOG_DAYS. Audited when it removes anything."""
    now = now or timezone.now()
    decisions_before = now - timedelta(days=settings.PDP_DECISION_LOG_DAYS)
    inputs_before = now - timedelta(days=settings.PDP_DECISION_LOG_INPUTS_DAYS)
    with transaction.atomic():
        old = DecisionBatch.objects.filter(last_at__lt=decisions_before)
        removed = old.aggregate(n=Sum("count"))["n"] or 0
        batches_removed, _ = old.delete()
        stale = DecisionBatch.objects.filter(Q(last_at__lt=inputs_before) & Q(inputs__isnull=False))
        inputs_removed = stale.aggregate(n=Sum("count"))["n"] or 0
        stale.update(inputs=None)
        result = {"decisions_removed": removed, "batches_removed": batches_removed, "inputs_removed": inputs_removed}
        if removed or inputs_removed:
            record_event(
                "decision_log.purge",
                actor=None,
                data={
                    **result,
                    "decisions_before": decisions_before.isoformat(),
                    "inputs_before": inputs_before.isoformat(),
                },
            )
    return result
