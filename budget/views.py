"""The budget office's pages: populations (datasets) and funds.

Adapters like the rule pages: parse the form, call the service, show its refusal on the form with
the refusal's status (400 for bad input) and change nothing. Only the budget office (the Budget
group) and superusers see these pages; the services check the same predicate themselves.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from engine.datasets import type_label
from engine.errors import DomainError
from pdp_portal import permissions
from portal.forms import submit
from portal.pages import refused, render_page, short_hash
from portal.presenters.figures import money, short

from .forms import DatasetUploadForm, FundForm
from .models import Dataset, DatasetUpload, Fund
from .services import (
    create_fund,
    fund_pipeline,
    queue_dataset_upload,
    set_default_dataset,
    update_fund,
    upload_dataset,
)

NOT_ALLOWED = "These pages are for the budget office (the Budget group); ask an administrator for that role."


def _require_manager(user, allowed=permissions.can_manage_datasets):
    if not allowed(user):
        raise PermissionDenied(NOT_ALLOWED)


def _refusal(exc):
    """403 and 404 as error pages; any other refusal is shown on the form, with its own status."""
    if exc.status in (403, 404):
        refused(None, exc, None)
    return {"message": exc.message, "status": exc.status}


# ---------------------------------------------------------------------------------------------
# Datasets


@login_required
@require_http_methods(["GET", "POST"])
def dataset_list(request):
    max_size = _size(settings.PDP_DATASET_MAX_BYTES)
    if request.method != "POST":
        _require_manager(request.user)
        return _datasets_page(request, DatasetUploadForm(max_size=max_size))
    form = DatasetUploadForm(request.POST, request.FILES, max_size=max_size)
    stored, status = submit(form, lambda data: _upload(request, data), field="file")
    if isinstance(stored, DatasetUpload):
        messages.info(
            request,
            f"“{stored.name}” ({_size(stored.size_bytes)}) is being checked in the background; "
            "its progress is shown under Uploads being checked.",
        )
        return redirect("dataset-list")
    if stored is not None:
        messages.success(request, f"Stored the dataset “{stored.name}” ({stored.row_count:,} rows).")
        return redirect("dataset-list")
    _require_manager(request.user)  # a POST the service did not see
    return _datasets_page(request, form, status=status)


def _upload(request, data):
    upload = data["file"]
    # A large upload is already on disk: hand the service its path rather than reading it here.
    raw = upload.temporary_file_path() if isinstance(upload, TemporaryUploadedFile) else upload.read()
    if upload.size > settings.PDP_DATASET_INLINE_BYTES:
        # Too large to check while the request waits: the worker checks it, with progress.
        return queue_dataset_upload(raw, actor=request.user, name=data["name"], filename=upload.name)
    return upload_dataset(raw, actor=request.user, name=data["name"], filename=upload.name)


@login_required
@require_POST
def dataset_make_default(request, pk):
    dataset = Dataset.objects.filter(pk=pk).first()
    if dataset is None:
        raise Http404("No such dataset.")
    try:
        set_default_dataset(dataset, actor=request.user)
    except DomainError as exc:
        action_error = _refusal(exc)
        return _datasets_page(request, DatasetUploadForm(), action_error=action_error, status=exc.status)
    messages.success(request, f"“{dataset.name}” is now the default dataset: new simulations run on it.")
    return redirect("dataset-list")


def _datasets_page(request, form, *, action_error=None, status=200):
    datasets = Dataset.objects.select_related("created_by").order_by("-is_default", "-created_at", "name")
    uploads = [_upload_row(upload) for upload in DatasetUpload.objects.for_page()]
    context = {
        "rows": [_dataset_row(dataset) for dataset in datasets],
        "uploads": uploads,
        "uploads_active": any(not row["finished"] for row in uploads),
        "form": form,
        "problems": _file_problems(getattr(form, "refusal", None)),
        "action_error": action_error,
        "max_size": _size(settings.PDP_DATASET_MAX_BYTES),
        "inline_size": _size(settings.PDP_DATASET_INLINE_BYTES),
    }
    return render_page(request, "budget/datasets.html", context, section="datasets", status=status)


def _upload_row(upload):
    return {
        "name": upload.name,
        "filename": upload.filename,
        "size": _size(upload.size_bytes),
        "uploaded_by": upload.uploaded_by.username,
        "created_at": upload.created_at,
        "status": upload.status,
        "status_label": upload.get_status_display(),
        "finished": upload.is_finished,
        "progress": upload.progress,
        "progress_note": upload.progress_note,
        "message": upload.message,
        "problems": _problem_rows(upload.problems or {}),
        "dataset": upload.dataset.name if upload.dataset else "",
        "id": upload.pk,
    }


def _file_problems(refusal):
    """The rows of a refused file's problems when there are several (a single one is its message alone)."""
    return _problem_rows(refusal.details) if refusal is not None else None


def _problem_rows(details):
    found = details.get("problems") or []
    if len(found) < 2:
        return None
    count = details.get("problem_count", len(found))
    return {
        "count": count,
        "more": count > len(found),
        "rows": [
            {
                "where": f"line {p['line']}" if p.get("line") else f"row {p['row']}" if p.get("row") else "",
                "column": p.get("column") or "",
                "message": p["message"],
            }
            for p in found
        ],
    }


def _dataset_row(dataset):
    columns = [{"name": name, "type": type_label(kind)} for name, kind in (dataset.columns or {}).items()]
    return {
        "name": dataset.name,
        "rows": f"{dataset.row_count:,}",
        "columns": columns,
        "column_count": len(columns),
        "size": _size(dataset.size_bytes),
        "format": dataset.get_format_display(),
        "hash": dataset.sha256,
        "hash_short": short_hash(dataset.sha256),
        "is_default": dataset.is_default,
        "uploaded_by": dataset.created_by.username if dataset.created_by else "generated",
        "created_at": dataset.created_at,
        "default_url": reverse("dataset-default", args=[dataset.pk]),
    }


def _size(count):
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count:,} bytes" if unit == "bytes" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{count:,} bytes"


# ---------------------------------------------------------------------------------------------
# Funds


@login_required
@require_http_methods(["GET", "POST"])
def fund_list(request):
    form = FundForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        fund, status = submit(form, lambda data: create_fund(actor=request.user, **data))
        if fund is not None:
            messages.success(request, f"Created the fund {fund.code}.")
            return redirect("fund-list")
    _require_manager(request.user, permissions.can_manage_funds)
    pipeline = fund_pipeline()
    context = {
        "rows": [_fund_row(fund, pipeline.get(fund.code)) for fund in Fund.objects.order_by("code")],
        "form": form,
    }
    return render_page(request, "budget/funds.html", context, section="funds", status=status)


@login_required
@require_http_methods(["GET", "POST"])
def fund_edit(request, pk):
    fund = Fund.objects.filter(pk=pk).first()
    if fund is None:
        raise Http404("No such fund.")
    initial = {"name": fund.name, "appropriation": f"{fund.appropriation:.2f}", "fiscal_year": fund.fiscal_year}
    form = FundForm(request.POST if request.method == "POST" else None, initial={"code": fund.code, **initial})
    status = 200
    if request.method == "POST":

        def save(data):
            return update_fund(fund, actor=request.user, **{field: data[field] for field in initial})

        saved, status = submit(form, save)
        if saved is not None:
            messages.success(request, f"Saved the fund {fund.code}.")
            return redirect("fund-list")
    _require_manager(request.user, permissions.can_manage_funds)
    context = {"fund": _fund_row(fund, fund_pipeline().get(fund.code)), "form": form}
    return render_page(request, "budget/funds_edit.html", context, section="funds", status=status)


def _fund_row(fund, stages):
    """A fund against the pipeline: committed in production, waiting on staging, in review, and what would remain."""
    stages = stages or {}
    appropriation = float(fund.appropriation)
    committed = stages.get("committed", 0.0)
    remainder = appropriation - committed
    remainder_if_all_live = appropriation - stages.get("if_all_live", committed)
    return {
        "staging": money(stages.get("staging", 0.0)),
        "review": money(stages.get("review", 0.0)),
        "remainder_if_all_live": money(remainder_if_all_live),
        "overdrawn_if_all_live": remainder_if_all_live < 0,
        "code": fund.code,
        "name": fund.name,
        "fiscal_year": fund.fiscal_year,
        "appropriation": money(fund.appropriation),
        "appropriation_short": short(fund.appropriation),
        "committed": money(committed),
        "remainder": money(remainder),
        "overdrawn": remainder < 0,
        "edit_url": reverse("fund-edit", args=[fund.pk]),
    }
