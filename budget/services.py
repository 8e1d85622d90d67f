"""The budget office's services: populations (datasets), funds (appropriations), and the budget verdict.

The verdict, `evaluate_budget`, is the one budget evaluation: the simulation check and
`manage.py simulate` both use it, against the funds' remainders after what live rules commit.
"""

import functools
import os
import re
import shutil
import uuid
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import polars as pl
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, models, transaction
from django.db.models import JSONField, Q, QuerySet
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from audit.services import record_event, refusals_recorded
from checks.models import CheckRun
from deployments.models import Environment, Release
from engine import parquet_layout, population
from engine.datasets import Source, read_population, type_label, write_normalised
from engine.errors import DomainError, InvalidDataset, InvalidInput
from engine.figures import money
from engine.lint import Finding, finding
from engine.simulation import judge_cost, load_population
from pdp_portal import permissions
from pdp_portal.celery import enqueue_on_commit
from pdp_portal.exceptions import InvalidTransition, NotFound, NotPermitted
from pdp_portal.heartbeat import beating
from rules.models import Rule, RuleVersion, VersionStatus

from .models import Dataset, DatasetUpload, Fund

DATASETS_FOLDER = "datasets"


def _max_length(model: type[models.Model], name: str) -> int:
    """A CharField's max_length, which every one of these fields has."""
    field = model._meta.get_field(name)
    assert isinstance(field, models.CharField) and field.max_length is not None
    return field.max_length


NAME_MAX = _max_length(Dataset, "name")
FUND_CODE_PATTERN = r"[A-Z][A-Z0-9]*(?:[-_][A-Z0-9]+)*"
FUND_CODE_MAX = _max_length(Fund, "code")
FUND_NAME_MAX = _max_length(Fund, "name")
FISCAL_YEARS = (2000, 2100)
_APPROPRIATION_FIELD = Fund._meta.get_field("appropriation")
APPROPRIATION_MAX = Decimal(10) ** (_APPROPRIATION_FIELD.max_digits - _APPROPRIATION_FIELD.decimal_places) - Decimal(
    "0.01"
)
_UNSET = object()
DATASET_NAME_MISSING = "Give the dataset a name, such as “Census sample 2024”."


def _require_manager(
    actor: User | None, what: str, allowed: Callable[[Any], bool] = permissions.can_manage_datasets
) -> None:
    if not allowed(actor):
        raise NotPermitted(f"You may not {what}; that is for the budget office (the Budget group).")


# ---------------------------------------------------------------------------------------------
# Datasets


def read_upload(source: Source, *, filename: str | None) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Read and validate a population file (engine.datasets.read_population) under PDP_DATASET_MAX_BYTES."""
    limit = settings.PDP_DATASET_MAX_BYTES
    return read_population(source, filename=filename, max_bytes=limit, limit_name="PDP_DATASET_MAX_BYTES")


def load_dataset(dataset: Dataset, columns: list[str] | None = None) -> pl.DataFrame:
    """The stored population of a Dataset row (only `columns` when given), as the simulation reads it."""
    return load_population(dataset.file_path, columns=columns)


class StoredCopyChanged(Exception):
    """The dataset's stored file is missing or is not the one its row records."""


# What this process has measured or verified of stored files, by file state (path, device, inode, size,
# modification and change times): a worker checks each file, or each part of one, once while it stays the
# same. Any write or rename moves the change time, which no one can set back.
class FileState(NamedTuple):
    path: str
    device: int
    inode: int
    size: int
    mtime_ns: int
    ctime_ns: int


_MEASURED: dict[FileState, tuple[str, dict[str, Any]]] = {}
_VERIFIED: set[tuple[Any, ...]] = set()
_REMEMBERED = 100_000


def _file_state(dataset: Dataset) -> FileState:
    path = dataset.file_path
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise StoredCopyChanged(
            f"The file of the population {dataset.name!r} ({dataset.path}) was not found in this worker's data "
            "folder: every worker must see the same data folder (docs/scaling.md)."
        ) from None
    return FileState(str(path), stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def _remember(memory: dict[Any, Any] | set[Any]) -> None:
    if len(memory) >= _REMEMBERED:
        memory.clear()


def _not_the_recorded_copy(dataset: Dataset, what: str) -> StoredCopyChanged:
    return StoredCopyChanged(
        f"The file of the population {dataset.name!r} ({dataset.path}) on this worker {what}: the workers do not "
        "share one data folder, or the file was changed."
    )


def _require_recorded_hash(dataset: Dataset, found: str) -> None:
    """The whole file's SHA-256 as found must be the one recorded, when one is."""
    if dataset.stored_sha256 and found != dataset.stored_sha256:
        raise _not_the_recorded_copy(
            dataset, f"has SHA-256 {found[:12]}…, not the {dataset.stored_sha256[:12]}… recorded for it"
        )


def measure_stored_copy(dataset: Dataset) -> tuple[str, dict[str, Any]]:
    """The SHA-256 and the layout (engine.parquet_layout.measure) of the dataset's stored file as this process
    sees it, read once per file state."""
    key = _file_state(dataset)
    if key not in _MEASURED:
        _remember(_MEASURED)
        _MEASURED[key] = parquet_layout.measure(dataset.file_path)
    return _MEASURED[key]


def record_stored_copy(dataset: Dataset) -> Dataset:
    """Record the hash and the layout of a dataset's stored file when its row lacks them (rows made before they
    were kept). A file that is not the one whose hash the row holds is refused: StoredCopyChanged."""
    wants_layout = not dataset.stored_layout and dataset.path.endswith(".parquet")
    if dataset.stored_sha256 and not wants_layout:
        return dataset
    found, layout = measure_stored_copy(dataset)
    _require_recorded_hash(dataset, found)
    if dataset.stored_sha256 and not layout:
        return dataset  # a footer this process cannot place: checked whole, as before layouts were kept
    dataset.stored_sha256, dataset.stored_layout = found, layout
    Dataset.objects.filter(pk=dataset.pk).filter(Q(stored_sha256="") | Q(stored_sha256=found)).update(
        stored_sha256=found, stored_layout=layout
    )
    return dataset


def verify_stored_rows(dataset: Dataset, first_row: int, rows: int | None) -> FileState:
    """Check the bytes of the stored file that reading rows first_row.. (`rows` of them, None: to the end)
    reads against what was recorded when it was stored: the row groups that hold them and the frame around
    all row groups (the footer, which says where each row group is). Without a recorded layout, the whole file against its SHA-256.
    A worker on another machine may see another file under the same name: StoredCopyChanged. Returns the
    state of the file checked (_file_state)."""
    state = _file_state(dataset)
    layout = dataset.stored_layout
    if not layout:
        found, _ = measure_stored_copy(dataset)
        _require_recorded_hash(dataset, found)
        return state
    if state.size != layout["size"]:
        raise _not_the_recorded_copy(
            dataset, f"has {state.size:,} bytes, not the {layout['size']:,} whose SHA-256 was recorded"
        )
    path = dataset.file_path
    if (state, "frame", layout["frame"]) not in _VERIFIED:
        if parquet_layout.frame_sha256(path, layout) != layout["frame"]:
            raise _not_the_recorded_copy(dataset, "has another footer than the one whose SHA-256 was recorded")
        _remember(_VERIFIED)
        _VERIFIED.add((state, "frame", layout["frame"]))
    if rows is None:  # to the end
        rows = sum(group[1] for group in layout["row_groups"])
    for first, count, start, end, digest in parquet_layout.spans_for_rows(layout, first_row, rows):
        if (state, start, end, digest) in _VERIFIED:
            continue
        if parquet_layout.span_sha256(path, start, end) != digest:
            raise _not_the_recorded_copy(
                dataset,
                f"holds other bytes for rows {first + 1:,} to {first + count:,} than those whose SHA-256 was recorded",
            )
        _remember(_VERIFIED)
        _VERIFIED.add((state, start, end, digest))
    return state


def load_dataset_rows(
    dataset: Dataset, columns: list[str], first_row: int = 0, rows: int | None = None
) -> pl.DataFrame:
    """Rows `first_row`.. of the dataset (`rows` of them, or all), read only once the bytes that reading them reads
    prove to be the recorded ones (verify_stored_rows), from the file in the state that was checked: a file
    replaced or written while it was read is refused (StoredCopyChanged)."""
    checked = verify_stored_rows(dataset, first_row, rows)
    frame = load_population(dataset.file_path, columns=columns, first_row=first_row, rows=rows)
    if _file_state(dataset) != checked:
        raise _not_the_recorded_copy(dataset, "was replaced or written while it was read")
    return frame


def upload_dataset(
    raw: Source,
    *,
    actor: User,
    name: str | None,
    filename: str | None,
    progress: Callable[[int, str], object] | None = None,
) -> Dataset:
    """Validate a population file (bytes, or the path of a file) and store it as a new, non-default Dataset.

    Stores a normalised Parquet copy under DATA_DIR/datasets/<sha256>.parquet. Refused: nothing is
    stored, neither row nor file.
    """
    size = len(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else os.stat(raw).st_size
    data = {"name": str(name or "")[:NAME_MAX], "filename": str(filename or "")[:200], "bytes": size}
    with refusals_recorded("dataset.upload", actor=actor, data=data):
        _require_manager(actor, "upload datasets")
        # The name and the file are both judged before refusing, so one answer names every problem.
        values = _clean_fields(
            {
                "name": functools.partial(_dataset_name, name),
                "file": functools.partial(read_upload, raw, filename=filename),
            }
        )
        name, (frame, info) = values["name"], values["file"]
        _refuse_duplicate(Dataset.objects.filter(sha256=info["sha256"]))  # before writing a copy for nothing
        if progress is not None:
            progress(80, f"Checked {info['row_count']:,} rows; writing the stored copy")
        relative = f"{DATASETS_FOLDER}/{info['sha256']}.parquet"
        final = settings.DATA_DIR / relative
        tmp = write_normalised(frame, final)
        placed = False
        try:
            stored = parquet_layout.measure(tmp)
            with transaction.atomic():
                _refuse_duplicate(Dataset.objects.select_for_update().filter(sha256=info["sha256"]))
                dataset = Dataset.objects.create(
                    name=name,
                    path=relative,
                    format=info["format"],
                    row_count=info["row_count"],
                    sha256=info["sha256"],
                    stored_sha256=stored[0],
                    stored_layout=stored[1],
                    size_bytes=info["size_bytes"],
                    columns=info["columns"],
                    is_default=False,
                    created_by=actor,
                )
                record_event(
                    "dataset.upload",
                    actor=actor,
                    target=dataset,
                    data={
                        "filename": data["filename"],
                        "format": info["format"],
                        "rows": info["row_count"],
                        "sha256": info["sha256"],
                        "size_bytes": info["size_bytes"],
                        "columns": info["columns"],
                    },
                )
                # Last, so the row and the file appear together; the name is the content's hash,
                # so a file already there holds these very bytes.
                placed = not final.exists()
                os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            if placed:
                final.unlink(missing_ok=True)
            raise
    return dataset


def _refuse_duplicate(same_content: QuerySet[Dataset]) -> None:
    same = same_content.first()
    if same is not None:
        message = f"This file is already stored as the dataset {same.name!r}."
        raise InvalidInput.at("file", message)


UPLOADS_FOLDER = "uploads"


def queue_dataset_upload(raw: Source, *, actor: User, name: str | None, filename: str | None) -> DatasetUpload:
    """Keep a population file too large to check while its request waits, and queue its check by the worker
    (run_dataset_upload). The name and the size are judged now; refused, nothing is kept."""
    size = len(raw) if isinstance(raw, (bytes, bytearray, memoryview)) else os.stat(raw).st_size
    data = {"name": str(name or "")[:NAME_MAX], "filename": str(filename or "")[:200], "bytes": size}
    with refusals_recorded("dataset.upload", actor=actor, data=data):
        _require_manager(actor, "upload datasets")
        limit = settings.PDP_DATASET_MAX_BYTES

        def within_limit() -> None:
            if size > limit:
                raise InvalidDataset(
                    f"The file is {size:,} bytes; the limit is {limit:,} bytes (PDP_DATASET_MAX_BYTES)."
                )

        name = _clean_fields({"name": functools.partial(_dataset_name, name), "file": within_limit})["name"]
        relative = f"{UPLOADS_FOLDER}/{uuid.uuid4().hex}.upload"
        kept = settings.DATA_DIR / relative
        kept.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(raw, (bytes, bytearray, memoryview)):
            kept.write_bytes(bytes(raw))
        else:
            shutil.copyfile(raw, kept)
        try:
            with transaction.atomic():
                upload = DatasetUpload.objects.create(
                    name=name, filename=str(filename or "")[:200], path=relative, size_bytes=size, uploaded_by=actor
                )
                record_event("dataset.upload.queue", actor=actor, target=upload, data=data)
                enqueue_on_commit("budget.tasks.check_dataset_upload", upload.pk)
        except BaseException:
            kept.unlink(missing_ok=True)
            raise
    return upload


def run_dataset_upload(upload_id: int) -> DatasetUpload | None:
    """Check a queued upload in the worker and store it as a Dataset, or keep why it was refused.

    Idempotent: a finished upload is returned as it is. Progress and a heartbeat are written as it
    goes. The dataset's own `dataset.upload` event (done or refused) records the outcome; the file
    as received is removed either way.
    """
    with transaction.atomic():
        upload = DatasetUpload.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None or upload.is_finished:
            return upload
        now = timezone.now()
        upload.status, upload.started_at, upload.heartbeat_at = DatasetUpload.Status.CHECKING, now, now
        upload.progress, upload.progress_note = 5, f"Reading {upload.size_bytes:,} bytes"
        upload.attempts += 1
        upload.save(update_fields=["status", "started_at", "heartbeat_at", "progress", "progress_note", "attempts"])
    mine = DatasetUpload.objects.filter(pk=upload_id, status=DatasetUpload.Status.CHECKING, started_at=now)

    def report(percent: int, note: str) -> None:
        mine.update(progress=percent, progress_note=note[:200], heartbeat_at=timezone.now())

    outcome: dict[str, Any]
    try:
        # Reading a large file reports no progress for a while: the heartbeat says the worker lives.
        with beating(mine, name=f"dataset upload {upload_id}"):
            dataset = upload_dataset(
                str(upload.file_path),
                actor=upload.uploaded_by,
                name=upload.name,
                filename=upload.filename,
                progress=report,
            )
        outcome = {"status": DatasetUpload.Status.STORED, "dataset": dataset, "message": ""}
    except DomainError as exc:
        outcome = {"status": DatasetUpload.Status.REFUSED, "message": exc.message, "problems": exc.details}
    return _finish_upload(upload_id, started=now, **outcome)


def fail_dataset_upload(upload_id: int, *, error: BaseException) -> DatasetUpload | None:
    """End an upload whose check stopped on an error it would meet again, with that error (see checks.fail_check)."""
    started = DatasetUpload.objects.filter(pk=upload_id).values_list("started_at", flat=True).first()
    message = (
        f"The check stopped on an error: {type(error).__name__}: {str(error)[:300] or 'no message'}. "
        "Nothing was stored; an administrator finds the details in the worker's log."
    )
    # No `dataset.upload` event says how it ended (upload_dataset never got as far as deciding): this one does.
    event = ("dataset.upload.fail", {"error": type(error).__name__, "message": message})
    return _finish_upload(upload_id, started=started, status=DatasetUpload.Status.FAILED, message=message, event=event)


def _finish_upload(
    upload_id: int,
    *,
    started: Any,
    status: str,
    message: str,
    event: tuple[str, dict[str, Any]] | None = None,
    **fields: Any,
) -> DatasetUpload | None:
    """End the upload's check (this attempt's only), writing `event` (action, data) when given."""
    with transaction.atomic():
        upload = DatasetUpload.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None or upload.status != DatasetUpload.Status.CHECKING or upload.started_at != started:
            return upload  # finished by another delivery of the same job
        upload.status, upload.message, upload.finished_at = status, message, timezone.now()
        upload.progress = 100
        upload.progress_note = ""
        for name, value in fields.items():
            setattr(upload, name, value)
        upload.save()
        if event is not None:
            record_event(event[0], actor=None, target=upload, data=event[1])
        upload.file_path.unlink(missing_ok=True)
    return upload


def sweep_dataset_uploads() -> list[int]:
    """Queue again the uploads whose message was lost or whose worker died (as the checks' sweeper does), and fail
    one after PDP_CHECK_MAX_ATTEMPTS attempts. Returns the ids queued again."""
    now = timezone.now()
    lost = now - timedelta(seconds=settings.PDP_STUCK_CHECK_SECONDS)
    dead = now - timedelta(seconds=settings.PDP_DEAD_WORKER_SECONDS)
    stuck = DatasetUpload.objects.filter(
        Q(status=DatasetUpload.Status.QUEUED, queued_at__lt=lost)
        | Q(status=DatasetUpload.Status.CHECKING, heartbeat_at__lt=dead)
    )
    requeued = []
    for upload_id in stuck.values_list("pk", flat=True):
        with transaction.atomic():
            upload = stuck.select_for_update().filter(pk=upload_id).first()
            if upload is None:
                continue
            if upload.attempts >= settings.PDP_CHECK_MAX_ATTEMPTS:
                upload.status, upload.finished_at = DatasetUpload.Status.FAILED, now
                upload.message = f"The check did not finish after {upload.attempts} attempts. Nothing was stored."
                upload.save(update_fields=["status", "finished_at", "message"])
                upload.file_path.unlink(missing_ok=True)
                record_event("dataset.upload.abandon", actor=None, target=upload, data={"attempts": upload.attempts})
                continue
            upload.status, upload.queued_at = DatasetUpload.Status.QUEUED, now
            upload.save(update_fields=["status", "queued_at"])
            record_event("dataset.upload.requeue", actor=None, target=upload, data={"attempts": upload.attempts})
            enqueue_on_commit("budget.tasks.check_dataset_upload", upload.pk)
            requeued.append(upload.pk)
    return requeued


def _clean_fields(cleaners: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Each field's cleaned value; or one refusal naming every field refused, in `details["fields"]`.

    The refusal is an InvalidDataset when the file was among the problems (its own details, the
    problems of each row, kept), otherwise an InvalidInput; its message says every problem.
    """
    values: dict[str, Any] = {}
    refusals: dict[str, InvalidInput] = {}
    for field, clean in cleaners.items():
        try:
            values[field] = clean()
        except InvalidInput as exc:
            refusals[field] = exc
    if not refusals:
        return values
    fields = {field: exc.message for field, exc in refusals.items()}
    details: dict[str, Any] = {}
    for refusal in refusals.values():
        details.update(refusal.details)
    kind = InvalidDataset if any(isinstance(r, InvalidDataset) for r in refusals.values()) else InvalidInput
    raise kind(" ".join(fields.values()), details={**details, "fields": fields})


def _dataset_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput(DATASET_NAME_MISSING)
    if len(name) > NAME_MAX:
        raise InvalidInput(f"The dataset name is {len(name)} characters; at most {NAME_MAX} are allowed.")
    return name


def set_default_dataset(dataset: Dataset, *, actor: User) -> Dataset:
    """Make `dataset` the one default population. Afterwards it, and only it, is the default."""
    with refusals_recorded("dataset.set_default", actor=actor, target=dataset):
        _require_manager(actor, "choose the default dataset")
        with transaction.atomic():
            locked = {
                row.pk: row for row in Dataset.objects.select_for_update().filter(Q(pk=dataset.pk) | Q(is_default=True))
            }
            target = locked.get(dataset.pk)
            if target is None:
                raise NotFound("That dataset does not exist.")
            if target.is_default:
                raise InvalidTransition(f"{target.name!r} is already the default dataset.")
            if not target.file_path.exists():
                raise InvalidTransition(
                    f"The file of {target.name!r} is missing from the data folder ({target.path}); "
                    "restore it before making it the default."
                )
            previous = next((row for row in locked.values() if row.is_default), None)
            if previous is not None:
                # Cleared first: the database allows one default at a time, even within a transaction.
                previous.is_default = False
                previous.save(update_fields=["is_default"])
            target.is_default = True
            try:
                with transaction.atomic():
                    target.save(update_fields=["is_default"])
            except IntegrityError:  # another default was set while we waited for the lock
                raise InvalidTransition(
                    "The default dataset changed at the same moment; reload and try again."
                ) from None
            record_event(
                "dataset.set_default",
                actor=actor,
                target=target,
                data={
                    "sha256": target.sha256,
                    "previous": previous.pk if previous else None,
                    "previous_name": previous.name if previous else "",
                },
            )
    return target


# ---------------------------------------------------------------------------------------------
# Funds


def create_fund(*, actor: User, code: Any, name: Any, appropriation: Any, fiscal_year: Any) -> Fund:
    """Register a fund that rules can draw on. Its code is fixed from then on."""
    data = {"code": str(code)[:FUND_CODE_MAX], "appropriation": str(appropriation), "fiscal_year": str(fiscal_year)}
    with refusals_recorded("fund.create", actor=actor, data=data):
        _require_manager(actor, "create funds", permissions.can_manage_funds)
        values = _clean_fields(
            {
                "code": functools.partial(_fund_code, code),
                "name": functools.partial(_fund_name, name),
                "appropriation": functools.partial(_appropriation, appropriation),
                "fiscal_year": functools.partial(_fiscal_year, fiscal_year),
            }
        )
        message = f"A fund with the code {values['code']!r} already exists."
        taken = InvalidInput.at("code", message)
        with transaction.atomic():
            if Fund.objects.select_for_update().filter(code=values["code"]).exists():
                raise taken
            try:
                with transaction.atomic():
                    fund = Fund.objects.create(**values)
            except IntegrityError:  # two creations raced; the unique constraint let one through
                raise taken from None
            record_event(
                "fund.create",
                actor=actor,
                target=fund,
                data={"changed": sorted(values), "values": {k: str(v) for k, v in values.items()}},
            )
    return fund


def update_fund(
    fund: Fund, *, actor: User, name: Any = _UNSET, appropriation: Any = _UNSET, fiscal_year: Any = _UNSET
) -> Fund:
    """Change a fund's name, appropriation or fiscal year (not its code, which rules cite)."""
    asked = {"name": name, "appropriation": appropriation, "fiscal_year": fiscal_year}
    asked = {field: value for field, value in asked.items() if value is not _UNSET}
    with refusals_recorded("fund.change", actor=actor, target=fund, data={k: str(v) for k, v in asked.items()}):
        _require_manager(actor, "change funds", permissions.can_manage_funds)
        cleaners = {"name": _fund_name, "appropriation": _appropriation, "fiscal_year": _fiscal_year}
        values = _clean_fields({field: functools.partial(cleaners[field], value) for field, value in asked.items()})
        with transaction.atomic():
            locked = Fund.objects.select_for_update().filter(pk=fund.pk).first()
            if locked is None:
                raise NotFound("That fund does not exist.")
            changed = sorted(field for field, value in values.items() if getattr(locked, field) != value)
            if not changed:
                raise InvalidInput(f"Nothing to change: the fund {locked.code} already has these values.")
            previous = {field: str(getattr(locked, field)) for field in changed}
            for field in changed:
                setattr(locked, field, values[field])
            locked.save(update_fields=changed)
            record_event(
                "fund.change",
                actor=actor,
                target=locked,
                data={
                    "changed": changed,
                    "values": {field: str(values[field]) for field in changed},
                    "previous": previous,
                },
            )
    return locked


def _fund_code(code: Any) -> str:
    code = (code or "").strip() if isinstance(code, str) else code
    if not isinstance(code, str) or not re.fullmatch(FUND_CODE_PATTERN, code) or len(code) > FUND_CODE_MAX:
        raise InvalidInput(
            f"The fund code must be upper-case letters and digits, parts joined by '-' or '_', starting with "
            f"a letter, at most {FUND_CODE_MAX} characters (like DRF-FY2025); {code!r} is not."
        )
    return code


def _fund_name(name: Any) -> str:
    name = (name or "").strip()
    if len(name) > FUND_NAME_MAX:
        raise InvalidInput(f"The fund name is {len(name)} characters; at most {FUND_NAME_MAX} are allowed.")
    return name


def _appropriation(value: Any) -> Decimal:
    """Dollars with at most cents, as a Decimal; "$2,500,000.50" is read as 2500000.50."""
    if isinstance(value, bool) or value is None:
        value = ""
    text = str(value).strip().replace(",", "").replace("_", "").removeprefix("$").strip()
    try:
        # ASCII only: Decimal() reads Arabic-Indic and full-width digits too ("١٢٣" as 123).
        amount = Decimal(text) if text.isascii() else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise InvalidInput(
            f"The appropriation must be an amount in dollars, like 120000000 or 2,500,000.50; {str(value)!r} is not."
        )
    if amount < 0:
        raise InvalidInput(f"The appropriation cannot be negative ({text}).")
    # Before the cents: 1e400 has too many digits to be rounded to cents (decimal.InvalidOperation).
    if amount > APPROPRIATION_MAX:
        raise InvalidInput(f"The appropriation is too large; at most {money(APPROPRIATION_MAX)} can be stored.")
    if amount != amount.quantize(Decimal("0.01")):
        raise InvalidInput(f"The appropriation has at most two decimal places (cents); {text} has more.")
    return amount.quantize(Decimal("0.01"))


def _fiscal_year(value: Any) -> int:
    low, high = FISCAL_YEARS
    text = str(value).strip()
    if isinstance(value, bool) or not re.fullmatch(r"[0-9]{1,4}", text):
        raise InvalidInput(f"The fiscal year must be a year like 2025; {text!r} is not.")
    year = int(text)
    if not low <= year <= high:
        raise InvalidInput(f"The fiscal year must be between {low} and {high}; {year} is not.")
    return year


# ---------------------------------------------------------------------------------------------
# The default population


def ensure_default_dataset() -> Dataset:
    """The default population; the synthetic one is generated on first use when none is set."""
    dataset = Dataset.objects.default()
    if dataset is not None:
        return dataset
    rows, seed = settings.PDP_POPULATION_ROWS, settings.PDP_POPULATION_SEED
    relative = f"populations/synthetic-{rows}-seed{seed}.parquet"
    path = settings.DATA_DIR / relative
    if not path.exists():
        tmp = path.with_suffix(f".{uuid.uuid4().hex}.tmp")
        frame = population.write_parquet(tmp, rows=rows, seed=seed)
        tmp.replace(path)  # atomic: a concurrent reader never sees half a file
    else:
        frame = load_population(path)
    try:
        with transaction.atomic():
            dataset = Dataset.objects.create(
                name=f"Synthetic population ({rows:,} rows, seed {seed})",
                path=relative,
                format=Dataset.Format.PARQUET,
                row_count=frame.height,
                sha256=(digest := (measured := parquet_layout.measure(path))[0]),
                stored_sha256=digest,
                stored_layout=measured[1],
                size_bytes=path.stat().st_size,
                columns={name: type_label(dtype) for name, dtype in frame.schema.items()},
                is_default=True,
            )
            record_event(
                "dataset.generate",
                actor=None,
                target=dataset,
                data={"rows": rows, "seed": seed, "sha256": dataset.sha256},
            )
    except IntegrityError:  # another process made it first
        dataset = Dataset.objects.default()
    return dataset


# ---------------------------------------------------------------------------------------------
# Budget limits and what live rules commit


def budget_limits(document: dict[str, Any], *, rule: Rule | None) -> tuple[dict[str, float | None], list[Finding]]:
    """The limits a rule's cost must stay under, by name, and findings about them."""
    limits = {"site default": settings.PDP_DEFAULT_BUDGET_LIMIT, "budget cap": document.get("budget_cap")}
    findings = []
    code = document.get("fund")
    if code:
        fund = Fund.objects.filter(code=code).first()
        if fund is None:
            findings.append(
                finding(
                    "FUND_UNKNOWN",
                    "warning",
                    f"The fund {code!r} is not registered, so its remainder is not checked.",
                    "$.fund",
                )
            )
        else:
            limits["fund remainder"] = float(fund.appropriation) - committed_cost(fund, exclude_rule=rule)
    return limits, findings


def evaluate_budget(
    document: dict[str, Any], result: dict[str, Any], *, rule: Rule | None
) -> tuple[bool, dict[str, Any], list[Finding]]:
    """A simulation result against every limit on the rule: (passed, details, findings).

    The one budget evaluation: the simulation check and `manage.py simulate` both use it. The
    rule's own live version does not count against its fund (the new version would replace it).
    """
    limits, findings = budget_limits(document, rule=rule)
    passed, details, verdict = judge_cost(result, limits)
    return passed, details, findings + verdict


def committed_costs(*, exclude_rule: Rule | None = None) -> dict[str, float]:
    """{fund code: simulated cost of the rules live in production drawing on it}, in two queries.

    The database reads the two figures needed, the fund key of each live document and the cost key
    of its simulation: the results, large, stay there, and no document is parsed here.
    """
    live = Release.objects.filter(environment__name=Environment.PRODUCTION, version__isnull=False).exclude(
        rule=exclude_rule
    )
    # The document is canonical JSON kept as text, so it is read as JSON for its one key.
    funds = live.values_list("version_id", KeyTextTransform("fund", Cast("version__document", JSONField())))
    costs = dict(
        CheckRun.objects.filter(kind=CheckRun.Kind.SIMULATION, version__in=live.values("version")).values_list(
            "version_id", "result__cost"
        )
    )
    totals: dict[str, float] = {}
    for version_id, code in funds:  # in release order, as before, so each sum is the same to the last bit
        cost = costs.get(version_id)
        if code and cost is not None:
            totals[code] = totals.get(code, 0.0) + float(cost)
    return totals


# The stages of the pipeline a fund's figures are told at, furthest along first.
PIPELINE_STAGES = ("committed", "staging", "review")


def fund_pipeline() -> dict[str, dict[str, float]]:
    """{fund code: what each stage of the pipeline would draw on it}, in four queries.

    - "committed": the versions live in production (as `committed_costs`);
    - "staging": versions live on staging that production does not serve (waiting for production);
    - "review": versions in review;
    - "if_all_live": what the fund would carry if each rule's furthest version (in review, else
      staging, else production) went live, replacing the one before it: a rule counts once.
    A version counts on the fund its own document names, so a rule that moves to another fund
    draws on the new one from the version that says so.
    """
    newest: dict[int, dict[str, int]] = {}
    for rule_id, environment, version_id in Release.objects.filter(version__isnull=False).values_list(
        "rule_id", "environment__name", "version_id"
    ):
        stage = "committed" if environment == Environment.PRODUCTION else "staging"
        newest.setdefault(rule_id, {})[stage] = version_id
    for version_id, rule_id in RuleVersion.objects.filter(status=VersionStatus.IN_REVIEW).values_list("pk", "rule_id"):
        newest.setdefault(rule_id, {})["review"] = version_id
    ids = {version_id for stages in newest.values() for version_id in stages.values()}
    funds = dict(
        RuleVersion.objects.filter(pk__in=ids).values_list(
            "pk", KeyTextTransform("fund", Cast("document", JSONField()))
        )
    )
    costs = dict(
        CheckRun.objects.filter(kind=CheckRun.Kind.SIMULATION, version__in=ids).values_list(
            "version_id", "result__cost"
        )
    )
    totals: dict[str, dict[str, float]] = {}

    def add(version_id: int, column: str) -> None:
        code, cost = funds.get(version_id), costs.get(version_id)
        if code and cost is not None:
            row = totals.setdefault(code, {"committed": 0.0, "staging": 0.0, "review": 0.0, "if_all_live": 0.0})
            row[column] += float(cost)

    for stages in newest.values():
        if stages.get("staging") == stages.get("committed"):
            stages.pop("staging", None)  # staging serves what production does: nothing waits there
        for stage in PIPELINE_STAGES:
            if stage in stages:
                add(stages[stage], stage)
        furthest = next((stages[stage] for stage in reversed(PIPELINE_STAGES) if stage in stages), None)
        if furthest is not None:
            add(furthest, "if_all_live")
    return totals


def committed_cost(fund: Fund, *, exclude_rule: Rule | None = None) -> float:
    """Simulated cost of the rules live in production that draw on `fund`."""
    return committed_costs(exclude_rule=exclude_rule).get(fund.code, 0.0)
