"""Writes of the checks: the lint and simulation jobs of a version, and the sweeper of stuck ones.

The database, not the broker, is each check's truth: a job claims its check, reports progress on
it and finishes it under a lock, so a re-delivered, late or cancelled job changes nothing.
"""

import contextlib
import json
import time
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import record_event
from budget.models import Dataset
from budget.services import ensure_default_dataset, evaluate_budget, load_dataset_rows
from deployments.models import Environment, Release
from engine.lint import ERROR, Finding, LiveRule, finding, has_errors, lint_document
from engine.simulation import (
    OtherRule,
    Progress,
    engine_version,
    needed_columns,
    overflow_finding,
    simulate,
    variables_of,
)
from pdp_portal import governance, permissions
from pdp_portal.celery import enqueue_on_commit
from pdp_portal.heartbeat import beating
from rules.models import Rule, RuleVersion, VersionStatus

from . import partitions
from .models import CheckRun


def _enqueue(check: CheckRun) -> None:
    """Publish the check's task once the surrounding transaction has committed."""
    name = "checks.tasks.run_lint" if check.kind == CheckRun.Kind.LINT else "checks.tasks.run_simulation"
    enqueue_on_commit(name, check.pk, task_id=check.task_id)


def _new_check(version: RuleVersion, kind: str) -> CheckRun:
    return CheckRun.objects.create(version=version, kind=kind, task_id=str(uuid.uuid4()))


def queue_lint(version: RuleVersion) -> CheckRun:
    """Create a new version's lint check and publish its job when the push commits (the push's transaction)."""
    check = _new_check(version, CheckRun.Kind.LINT)
    _enqueue(check)
    return check


def cancel_open_checks(version: RuleVersion, *, note: str) -> None:
    """Cancel the version's queued or running checks (it was superseded); a worker holding one then stops."""
    for check in version.checks.select_for_update().filter(
        status__in=[CheckRun.Status.QUEUED, CheckRun.Status.RUNNING]
    ):
        check.status = CheckRun.Status.CANCELLED
        check.finished_at = timezone.now()
        check.progress_note = note
        check.save(update_fields=["status", "finished_at", "progress_note"])


def _lock_check(check_id: int) -> tuple[CheckRun, RuleVersion] | None:
    """Lock a check's version, then the check: the same order as a push, so the two never deadlock."""
    version_id = CheckRun.objects.filter(pk=check_id).values_list("version_id", flat=True).first()
    if version_id is None:
        return None
    version = RuleVersion.objects.select_for_update(of=("self",)).select_related("rule").get(pk=version_id)
    return CheckRun.objects.select_for_update().get(pk=check_id), version


def _start_check(
    check_id: int, running_status: str, *, resuming: str | None = None
) -> tuple[CheckRun, RuleVersion] | None:
    """Claim a check for this worker. Returns (check, version) or None when there is nothing to do.

    `resuming` is the job's id when the broker gives the job back (its worker died holding it) or
    retries it: the attempt that left the check running under that job has ended, so its heartbeat,
    however recent, does not keep this one out. (Redis also gives back a job that outlives its
    visibility timeout, set above the longest job; two attempts would then race, and only the
    first to finish stores its outcome: _finish_check.)
    """
    with transaction.atomic():
        locked = _lock_check(check_id)
        if locked is None or locked[0].is_finished:
            return None  # re-delivered after it finished, or cancelled: nothing to do
        check, version = locked
        now = timezone.now()
        fresh = now - timedelta(seconds=settings.PDP_DEAD_WORKER_SECONDS)
        taken_over = resuming is not None and resuming == check.task_id
        if (
            check.status == CheckRun.Status.RUNNING
            and check.heartbeat_at
            and check.heartbeat_at >= fresh
            and not taken_over
        ):
            return None  # another worker is on it and alive; the sweeper re-queues it if it dies
        check.status = CheckRun.Status.RUNNING
        check.started_at = now
        check.heartbeat_at = now
        check.attempts += 1
        check.progress = 0
        check.save(update_fields=["status", "started_at", "heartbeat_at", "attempts", "progress"])
        if version.status != running_status:
            version.move_to(running_status)
        return check, version


def _finish_check(
    check_id: int,
    *,
    started: float | None,
    findings: list[Finding],
    result: dict[str, Any] | None = None,
    dataset: Dataset | None = None,
    next_status: str,
    failed_status: str,
) -> CheckRun | None:
    """Store a finished check's outcome and move its version on. Returns the check, or None if stale."""
    if result and not _finite(result):
        # Figures that overflowed cannot be stored as JSON, and would mean nothing: the check fails
        # with the cause instead.
        findings = [*findings, overflow_finding()]
        result = None
    with transaction.atomic():
        locked = _lock_check(check_id)
        if locked is None or locked[0].status != CheckRun.Status.RUNNING:
            return None  # another delivery finished it first, or a newer push cancelled it
        check, version = locked
        passed = not has_errors(findings)
        check.status = CheckRun.Status.PASSED if passed else CheckRun.Status.FAILED
        check.findings = findings
        check.result = result or {}
        check.progress = 100
        check.engine_version = engine_version()
        if dataset is not None:
            check.dataset = dataset
            check.dataset_hash = dataset.sha256
        check.finished_at = timezone.now()
        if started is not None:
            check.duration_s = round(time.perf_counter() - started, 3)
        else:  # finished by another process than the one that started it (a partitioned simulation)
            check.duration_s = round((check.finished_at - (check.started_at or check.queued_at)).total_seconds(), 3)
        check.save(
            update_fields=[
                "status", "findings", "result", "progress", "engine_version",
                "dataset", "dataset_hash", "finished_at", "duration_s",
            ]
        )  # fmt: skip
        version.move_to(next_status if passed else failed_status)
        follow_up = None
        if passed and next_status == VersionStatus.SIMULATING:
            follow_up = _new_check(version, CheckRun.Kind.SIMULATION)
        if passed and next_status == VersionStatus.IN_REVIEW:
            permissions.grant_review_permissions(version)
        record_event(
            f"check.{check.kind}",
            actor=None,
            target=version,
            data={
                "check": check.pk,
                "status": check.status,
                "errors": sum(1 for f in findings if f["severity"] == ERROR),
                "warnings": sum(1 for f in findings if f["severity"] == "warning"),
                "duration_s": check.duration_s,
                **(
                    {"cost": check.result.get("cost"), "within_budget": check.result.get("within_budget")}
                    if result
                    else {}
                ),
            },
        )
        if follow_up is not None:
            _enqueue(follow_up)
        return check


def _beating(check: CheckRun) -> contextlib.AbstractContextManager[None]:
    """While a job works, beat its check's heartbeat (pdp_portal.heartbeat): the sweeper re-queues a check whose
    heartbeat is older than PDP_DEAD_WORKER_SECONDS, its worker being gone."""
    mine = CheckRun.objects.filter(pk=check.pk, status=CheckRun.Status.RUNNING, started_at=check.started_at)
    return beating(mine, name=f"check {check.pk}")


def _finite(result: dict[str, Any]) -> bool:
    try:
        json.dumps(result, allow_nan=False)
    except (ValueError, OverflowError):
        return False
    return True


def fail_check(check_id: int, *, error: BaseException) -> CheckRun | None:
    """Fail a running check whose job stopped on an error it would meet again (not the database's), at once
    and with the cause, instead of leaving it to be retried until CHECK_ABANDONED. Its version fails with it."""
    kind = CheckRun.objects.filter(pk=check_id).values_list("kind", flat=True).first()
    if kind is None:
        return None
    lint = kind == CheckRun.Kind.LINT
    message = (
        f"The {kind} job stopped on an error it would meet again, so it was not retried: "
        f"{type(error).__name__}: {str(error)[:300] or 'no message'}. "
        "Push a corrected version; if the document looks right, an administrator finds the details in the worker's log."
    )
    return _finish_check(
        check_id,
        started=time.perf_counter(),
        findings=[finding("CHECK_ERROR", ERROR, message)],
        next_status=VersionStatus.SIMULATING if lint else VersionStatus.IN_REVIEW,
        failed_status=VersionStatus.LINT_FAILED if lint else VersionStatus.SIMULATION_FAILED,
    )


def run_lint(check_id: int, *, resuming: str | None = None) -> CheckRun | None:
    """Lint a queued version. Idempotent: a finished or cancelled check is left as it is.

    `resuming`: the job's id when it is delivered again (see _start_check).
    """
    claimed = _start_check(check_id, VersionStatus.LINTING, resuming=resuming)
    if claimed is None:
        return None
    check, version = claimed
    started = time.perf_counter()
    with _beating(check):
        dataset = ensure_default_dataset()
        findings = lint_document(
            version.parsed(),
            columns=list(dataset.columns),
            live=live_rules(exclude=version.rule),
            governance=governance.in_force(),
        )
    return _finish_check(
        check_id,
        started=started,
        findings=findings,
        next_status=VersionStatus.SIMULATING,
        failed_status=VersionStatus.LINT_FAILED,
    )


def live_rules(*, exclude: Rule | None = None, environment: str | None = None) -> list[LiveRule]:
    """The versions of other rules live now (both environments unless one is named)."""
    releases = Release.objects.filter(version__isnull=False).select_related("rule", "environment", "version")
    if exclude is not None:
        releases = releases.exclude(rule=exclude)
    if environment is not None:
        releases = releases.filter(environment__name=environment)
    return [
        LiveRule(
            slug=r.rule.slug,
            number=version.number,
            environment=r.environment.name,
            content_hash=version.content_hash,
            document=version.parsed(),
        )
        for r in releases.order_by("rule__slug", "environment__order")
        if (version := r.version) is not None  # always, by the filter: it tells the type checker
    ]


def comparison_rules(document: dict[str, Any]) -> tuple[dict[str, Any] | None, list[OtherRule]]:
    """What a simulation compares with: this rule's production version, and the program's other live rules."""
    live = live_rules(environment=Environment.PRODUCTION)
    own = next((r.document for r in live if r.slug == document.get("rule")), None)
    program = document.get("program")
    others = [
        OtherRule(r.slug, r.number, r.document)
        for r in live
        if r.slug != document.get("rule") and program and r.document.get("program") == program
    ]
    return own, others


def _report_progress(check_id: int) -> Progress:
    def report(percent: int, note: str) -> None:
        CheckRun.objects.filter(pk=check_id, status=CheckRun.Status.RUNNING).update(
            progress=percent, progress_note=note[:200], heartbeat_at=timezone.now()
        )

    return report


def run_simulation(check_id: int, *, resuming: str | None = None) -> CheckRun | None:
    """Simulate a linted version over the default population and check its budget.

    Idempotent as run_lint; `resuming`: the job's id when it is delivered again (see _start_check).
    """
    claimed = _start_check(check_id, VersionStatus.SIMULATING, resuming=resuming)
    if claimed is None:
        return None
    check, version = claimed
    started = time.perf_counter()
    with _beating(check):
        return _simulate_check(check_id, version, started)


def _simulate_check(check_id: int, version: RuleVersion, started: float) -> CheckRun | None:
    document = version.parsed()
    dataset = ensure_default_dataset()
    own, others = comparison_rules(document)
    missing = sorted(variables_of(document) - set(dataset.columns))
    if missing:
        # The default dataset changed since lint: refuse rather than count nobody as eligible.
        findings = [
            finding(
                "INPUT_NOT_IN_POPULATION",
                ERROR,
                f"The population {dataset.name!r} has no column {', '.join(map(repr, missing))}, which the rule reads.",
                "$.inputs",
            )
        ]
        return _finish_check(
            check_id,
            started=started,
            findings=findings,
            dataset=dataset,
            next_status=VersionStatus.IN_REVIEW,
            failed_status=VersionStatus.SIMULATION_FAILED,
        )
    documents = [document, *([own] if own else []), *(o.document for o in others)]
    columns = needed_columns(documents, list(dataset.columns))
    if partitions.is_partitioned(document, dataset):
        return partitions.start(check_id, document=document, dataset=dataset, live=own, others=others, columns=columns)
    frame = load_dataset_rows(dataset, columns)
    result, findings = simulate(document, frame, progress=_report_progress(check_id), live=own, others=others)
    return finish_simulation(
        check_id, dataset=dataset, result=result, findings=findings, started=started, version=version, document=document
    )


def finish_simulation(
    check_id: int,
    *,
    dataset: Dataset,
    findings: list[Finding],
    result: dict[str, Any] | None = None,
    started: float | None = None,
    version: RuleVersion | None = None,
    document: dict[str, Any] | None = None,
) -> CheckRun | None:
    """Judge a simulation's figures against the budget and finish its check (`started`: this process's clock
    when it started the job; None when another process did, as for a partitioned simulation). `version` and
    its parsed `document`, when the caller has them, spare loading and parsing them again."""
    if version is None:
        version = RuleVersion.objects.select_related("rule").get(checks__pk=check_id)
    if result is not None:
        parsed = document if document is not None else version.parsed()
        _, details, budget_findings = evaluate_budget(parsed, result, rule=version.rule)
        findings = [*findings, *budget_findings]
        result.update(details)
        result.update({"rule_hash": version.content_hash, "dataset_hash": dataset.sha256, "engine": engine_version()})
    return _finish_check(
        check_id,
        started=started,
        findings=findings,
        result=result,
        dataset=dataset,
        next_status=VersionStatus.IN_REVIEW,
        failed_status=VersionStatus.SIMULATION_FAILED,
    )


def sweep_stuck_checks(
    *, older_than: float | None = None, silent_for: float | None = None
) -> tuple[list[int], list[int]]:
    """Re-queue checks left queued too long (a lost message: `older_than`, PDP_STUCK_CHECK_SECONDS) or
    running with no heartbeat for `silent_for` (PDP_DEAD_WORKER_SECONDS: its worker is gone).

    A check past its attempt limit fails, and its version with it. Returns the ids touched.
    """
    older_than = older_than if older_than is not None else settings.PDP_STUCK_CHECK_SECONDS
    silent_for = silent_for if silent_for is not None else settings.PDP_DEAD_WORKER_SECONDS
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than)
    dead = now - timedelta(seconds=silent_for)
    requeued: list[int] = []
    failed: list[int] = []
    candidates = list(
        CheckRun.objects.filter(
            Q(status=CheckRun.Status.QUEUED, queued_at__lt=cutoff)
            | Q(status=CheckRun.Status.RUNNING, heartbeat_at__lt=dead)
            | Q(status=CheckRun.Status.RUNNING, heartbeat_at__isnull=True, queued_at__lt=dead)
        ).values_list("pk", flat=True)
    )
    if not candidates:
        return requeued, failed
    with transaction.atomic():
        for check_id in candidates:
            locked = _lock_check(check_id)
            if locked is None:
                continue
            check, version = locked
            # A partitioned simulation is silent while its partitions wait for a free worker: it is
            # stuck only once nothing of it has moved for as long as a queued check may wait.
            silent_since = check.heartbeat_at or check.queued_at
            still_stuck = (check.status == CheckRun.Status.QUEUED and check.queued_at < cutoff) or (
                check.status == CheckRun.Status.RUNNING
                and silent_since < (cutoff if check.plan.get("partitions") else dead)
            )
            if not still_stuck:
                continue  # it moved on while we looked
            if check.attempts >= settings.PDP_CHECK_MAX_ATTEMPTS:
                check.status = CheckRun.Status.FAILED
                check.finished_at = timezone.now()
                check.findings = [
                    finding(
                        "CHECK_ABANDONED",
                        ERROR,
                        f"The {check.kind} job did not finish after {check.attempts} attempts.",
                    )
                ]
                check.save(update_fields=["status", "finished_at", "findings"])
                failed_status = (
                    VersionStatus.LINT_FAILED if check.kind == CheckRun.Kind.LINT else VersionStatus.SIMULATION_FAILED
                )
                if version.can_transition_to(failed_status):
                    version.move_to(failed_status)
                failed.append(check.pk)
            else:
                check.status = CheckRun.Status.QUEUED
                check.queued_at = timezone.now()
                check.task_id = str(uuid.uuid4())
                check.save(update_fields=["status", "queued_at", "task_id"])
                _enqueue(check)
                requeued.append(check.pk)
        if requeued or failed:
            record_event("check.sweep", actor=None, data={"requeued": requeued, "failed": failed})
    return requeued, failed
