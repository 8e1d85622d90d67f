"""The partitioned simulation: a population above PDP_PARTITION_ROWS rows, simulated as a Celery chord.

One task per partition (a run of whole Parquet row groups) evaluates the rule over its rows only and
stores its figures (engine.simulation.partial_figures) on its SimulationPartition row; the chord's
body adds them up (engine.simulation.merge) and finishes the check with exactly the figures one
process gives. A rule without a maximum payment needs the largest payment of all the rows for its
histogram, so its partitions run a second, histogram-only pass once the first is merged.

What keeps it exact under faults:
- a partition's figures are written once, by the first delivery of its task to finish, and the
  merge reads those rows, never the tasks' return values: a task delivered twice counts once;
- a task whose worker dies is given back by the broker (acks_late, reject_on_worker_lost) and runs
  again; a check whose partitions all stall is re-queued by the sweeper, which publishes the chord
  again for the partitions not done, reusing the ones that are;
- a partition that fails for good (its stored file is not the recorded one, or any error it would
  meet again) fails the check at once with a finding naming the partition and its rows;
- every partition checks the stored file's SHA-256 before it reads.
"""

import logging
import time
from typing import Any

import polars as pl
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from budget.models import Dataset
from budget.services import StoredCopyChanged, load_dataset_rows, record_stored_copy
from engine.lint import ERROR, finding
from engine.population import ROW_GROUP_ROWS
from engine.simulation import (
    OtherRule,
    evaluate,
    finish,
    histogram_bins,
    histogram_top,
    merge,
    merge_histograms,
    needs_histogram_pass,
    partial_figures,
)
from pdp_portal.celery import enqueue_chord_on_commit
from pdp_portal.heartbeat import beating

from . import services
from .models import CheckRun, SimulationPartition

logger = logging.getLogger(__name__)

PARTITION_TASK = "checks.tasks.simulate_partition"
MERGE_TASK = "checks.tasks.merge_partitions"
Stage = SimulationPartition.Stage


def partition_rows() -> int:
    """Rows per partition: PDP_PARTITION_ROWS, in whole row groups when it spans more than one."""
    wanted = settings.PDP_PARTITION_ROWS
    if wanted >= ROW_GROUP_ROWS:
        return wanted // ROW_GROUP_ROWS * ROW_GROUP_ROWS
    return wanted


def is_partitioned(document: dict[str, Any], dataset: Dataset) -> bool:
    """Whether a simulation of `document` over `dataset` runs as partitions (0 turns partitioning off)."""
    size = partition_rows()
    return "eligibility" in document and size > 0 and dataset.row_count > size


def spans(rows: int, size: int) -> list[tuple[int, int]]:
    """(first row, rows) of each partition of a population of `rows` rows."""
    return [(first, min(size, rows - first)) for first in range(0, rows, size)]


def start(
    check_id: int,
    *,
    document: dict[str, Any],
    dataset: Dataset,
    live: dict[str, Any] | None,
    others: list[OtherRule],
    columns: list[str],
) -> CheckRun | None:
    """Plan a claimed simulation check's partitions and publish its chord once this commits.

    Called again for the same check (the sweeper re-queued it), it keeps the partitions already
    done when nothing they depend on has changed, and publishes the chord for the rest.
    """
    try:
        record_stored_copy(dataset)
    except StoredCopyChanged as exc:
        return services.finish_simulation(check_id, dataset=dataset, findings=[_failed_finding(str(exc))])
    size = partition_rows()
    plan = {
        "dataset": dataset.pk,
        "rows": dataset.row_count,
        "columns": columns,
        "partition_rows": size,
        "partitions": len(spans(dataset.row_count, size)),
        "passes": 1 if document.get("max_payment") else 2,
        "live": live,
        "others": [[o.slug, o.number, o.document] for o in others],
    }
    with transaction.atomic():
        check = CheckRun.objects.select_for_update().get(pk=check_id)
        if check.status != CheckRun.Status.RUNNING:
            return None
        if check.plan != plan:
            check.partitions.all().delete()  # made for another population or other rules compared
        check.plan = plan
        check.dataset = dataset
        check.dataset_hash = dataset.sha256
        check.progress_note = f"{plan['partitions']} partitions of {size:,} rows queued"
        check.save(update_fields=["plan", "dataset", "dataset_hash", "progress_note"])
        have = set(check.partitions.filter(stage=Stage.FIGURES).values_list("index", flat=True))
        SimulationPartition.objects.bulk_create(
            SimulationPartition(run=check, stage=Stage.FIGURES, index=index, first_row=first, rows=rows)
            for index, (first, rows) in enumerate(spans(dataset.row_count, size))
            if index not in have
        )
        _publish(check, Stage.FIGURES)
        _report_progress(check.pk, plan)
    return check


def _publish(check: CheckRun, stage: str) -> None:
    """Publish the chord of the stage's partitions not done yet (all of them, the first time)."""
    pending = check.partitions.filter(stage=stage, figures__isnull=True).values_list("index", flat=True)
    header = [(PARTITION_TASK, (check.pk, stage, index)) for index in pending]
    enqueue_chord_on_commit(header, (MERGE_TASK, (check.pk, stage)))


def run_partition(check_id: int, stage: str, index: int, *, worker: str = "") -> str:
    """Simulate one partition and store its figures, unless a delivery before this one already did."""
    part = (
        SimulationPartition.objects.select_related("run__version", "run__dataset")
        .filter(run_id=check_id, stage=stage, index=index)
        .first()
    )
    if part is None or part.is_done or part.run.status != CheckRun.Status.RUNNING:
        return "skipped"  # replanned, done by another delivery, or the check ended
    check = part.run
    assert check.dataset is not None  # set with the plan
    SimulationPartition.objects.filter(pk=part.pk).update(
        attempts=F("attempts") + 1, started_at=timezone.now(), worker=worker[:200]
    )
    started = time.perf_counter()
    mine = CheckRun.objects.filter(pk=check_id, status=CheckRun.Status.RUNNING)
    with beating(mine, name=f"check {check_id} partition {index + 1}"):
        figures = _figures(check, part)
    stored = SimulationPartition.objects.filter(pk=part.pk, figures__isnull=True).update(
        figures=figures, finished_at=timezone.now(), duration_s=round(time.perf_counter() - started, 3)
    )
    _report_progress(check_id, check.plan)
    return "done" if stored else "skipped"


def _figures(check: CheckRun, part: SimulationPartition) -> dict[str, Any]:
    assert check.dataset is not None
    plan = check.plan
    document = check.version.parsed()
    frame = load_dataset_rows(check.dataset, plan["columns"], part.first_row, part.rows)
    if part.stage == Stage.HISTOGRAM:
        assert part.top is not None
        table = evaluate(document, frame, first_row=part.first_row).table
        eligible = table.filter(pl.col("eligible")) if table.height else table
        return {"top": part.top, "bins": histogram_bins(eligible, part.top) if eligible.height else []}
    others = [OtherRule(*other) for other in plan["others"]]
    evaluation = evaluate(document, frame, first_row=part.first_row, live=plan["live"], others=others)
    return partial_figures(document, evaluation, live=plan["live"], others=others)


def _report_progress(check_id: int, plan: dict[str, Any]) -> None:
    """The check's progress: the share of its partitions done, over both passes when it needs two."""
    total = plan["partitions"] * plan["passes"]
    done = SimulationPartition.objects.filter(run_id=check_id, figures__isnull=False).aggregate(
        parts=Count("pk"), rows=Coalesce(Sum("rows", filter=Q(stage=Stage.FIGURES)), 0)
    )
    note = f"{done['parts']} of {total} partitions done ({done['rows']:,} of {plan['rows']:,} rows simulated)"
    CheckRun.objects.filter(pk=check_id, status=CheckRun.Status.RUNNING).update(
        progress=min(99, done["parts"] * 100 // total), progress_note=note, heartbeat_at=timezone.now()
    )


def merge_partitions(check_id: int, stage: str) -> CheckRun | None:
    """Add up a check's partitions and finish it, or start the histogram pass the rule needs first.

    Reads the stored figures, so it is safe to run twice (a chord published again): the second
    finds the check finished, or the histogram pass already planned, and does nothing.
    """
    check = CheckRun.objects.select_related("version__rule", "dataset").filter(pk=check_id).first()
    if check is None or check.status != CheckRun.Status.RUNNING or not check.plan:
        return None
    parts = list(check.partitions.all())
    first_pass = [p for p in parts if p.stage == Stage.FIGURES]
    second_pass = [p for p in parts if p.stage == Stage.HISTOGRAM]
    if len(first_pass) != check.plan["partitions"] or not all(p.is_done for p in first_pass):
        return None  # a chord of an earlier plan: the current one merges when its partitions are done
    document = check.version.parsed()
    merged = merge([p.figures for p in first_pass if p.figures is not None])
    if second_pass:
        if not all(p.is_done for p in second_pass):
            return None
        merged["histogram"] = merge_histograms([p.figures for p in second_pass])
    elif needs_histogram_pass(document, merged):
        _start_histogram_pass(check, histogram_top(document, merged["max"]))
        return None
    plan = check.plan
    others = [OtherRule(*other) for other in plan["others"]]
    result, findings = finish(document, merged, live=plan["live"], others=others)
    if result is not None:
        result["partitions"] = plan["partitions"]
    assert check.dataset is not None
    return services.finish_simulation(
        check_id, dataset=check.dataset, result=result, findings=findings, version=check.version, document=document
    )


def _start_histogram_pass(check: CheckRun, top: float) -> None:
    with transaction.atomic():
        locked = CheckRun.objects.select_for_update().get(pk=check.pk)
        if locked.status != CheckRun.Status.RUNNING or locked.partitions.filter(stage=Stage.HISTOGRAM).exists():
            return
        SimulationPartition.objects.bulk_create(
            SimulationPartition(
                run=locked, stage=Stage.HISTOGRAM, index=p.index, first_row=p.first_row, rows=p.rows, top=top
            )
            for p in locked.partitions.filter(stage=Stage.FIGURES)
        )
        _publish(locked, Stage.HISTOGRAM)


def _failed_finding(cause: str) -> dict[str, Any]:
    return finding("PARTITION_FAILED", ERROR, cause)


def fail_partition(check_id: int, stage: str, index: int, *, error: BaseException) -> CheckRun | None:
    """Fail the check of a partition that stopped on an error it would meet again, naming the partition."""
    part = SimulationPartition.objects.filter(run_id=check_id, stage=stage, index=index).first()
    check = CheckRun.objects.select_related("dataset").filter(pk=check_id).first()
    if part is None or check is None or check.dataset is None:
        return None
    total = check.plan.get("partitions", 0)
    cause = str(error)[:300] if isinstance(error, StoredCopyChanged) else f"{type(error).__name__}: {str(error)[:300]}"
    message = (
        f"Partition {index + 1} of {total} (rows {part.first_row + 1:,} to {part.first_row + part.rows:,}"
        f"{', histogram pass' if stage == Stage.HISTOGRAM else ''}) failed, so the simulation has no figures: "
        f"{cause or 'no message'}."
    )
    logger.error("check %s: %s", check_id, message)
    return services.finish_simulation(check_id, dataset=check.dataset, findings=[_failed_finding(message)])
