"""The audit page: every event, filtered and paged; the same events as CSV; verifying the chain.

Verifying runs in a worker: the button queues it, and the page's Verification panel follows it
live (an htmx-polled fragment) until the result lands.

Pages are keyset-paged on the event id (`?before=` / `?after=`), so the hundredth page costs what
the first does on a table of any size.
"""

import csv
import io
import itertools
import json
import re

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect, QueryDict, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from engine.errors import DomainError
from pdp_portal import permissions
from portal.pages import event_row, refused, render_page
from rules.models import Rule

from .forms import FILTER_FIELDS, AuditFilterForm
from .models import AuditEvent, ChainVerification
from .services import request_chain_verification

PAGE_SIZE = 50
CSV_CHUNK = 2000
CSV_COLUMNS = (
    "id",
    "created_at",
    "actor",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "target",
    "rule",
    "data",
    "ip",
    "prev_hash",
    "hash",
)


def _require_viewer(user):
    if not permissions.can_read_audit(user):
        raise PermissionDenied("The audit history is for release managers and administrators; ask one of them.")


def _filter_form(request):
    choices = AuditEvent.objects.filter_choices()
    return AuditFilterForm(request.GET, choices=choices, time_zone=settings.TIME_ZONE)


@login_required
@require_GET
def audit_list(request):
    _require_viewer(request.user)
    form = _filter_form(request)
    context = _form_context(request, form)
    context["verification"] = _verification_panel(request.GET.get("verification", ""))
    if not form.is_valid():
        return render_page(request, "audit/audit_list.html", context, section="audit", status=400)

    matching = form.apply(AuditEvent.objects.all())
    total = matching.count()
    page, newer = _page(matching, before=form.cleaned_data["before"], after=form.cleaned_data["after"])
    linked = set(
        Rule.objects.filter(slug__in={e.rule_slug for e in page if e.rule_slug}).values_list("slug", flat=True)
    )
    first = newer + 1 if page else 0
    last = newer + len(page)
    context.update(
        {
            "total": total,
            "filtered": form.is_filtered,
            "events": [_row(event, linked) for event in page],
            "first": first,
            "last": last,
            "pages": _page_links(form, page, has_newer=newer > 0, has_older=last < total),
            "export_url": _with_query(reverse("audit-export"), form.filter_query()),
        }
    )
    return render_page(request, "audit/audit_list.html", context, section="audit")


def _form_context(request, form):
    return {
        "form": form,
        "verify_back": form.filter_query(),
        "time_zone": settings.TIME_ZONE,
    }


def _page(matching, *, before, after):
    """One page of events, newest first, and how many matching events are newer than it."""
    if after is not None:
        page = list(matching.filter(id__gt=after).order_by("id")[:PAGE_SIZE])
        page.reverse()
    else:
        rows = matching.order_by("-id")
        if before is not None:
            rows = rows.filter(id__lt=before)
        page = list(rows[:PAGE_SIZE])
    if before is None and after is None:
        return page, 0
    if not page:
        # A cursor past either end: nothing to show, and the position is taken from the cursor.
        cursor = after if after is not None else before - 1
        return page, matching.filter(id__gt=cursor).count()
    return page, matching.filter(id__gt=page[0].pk).count()


def _page_links(form, page, *, has_newer, has_older):
    base = reverse("audit-list")
    links = {"newest": None, "newer": None, "older": None, "oldest": None}
    if has_newer:
        links["newest"] = _with_query(base, form.filter_query())
        links["newer"] = _with_query(base, form.filter_query(after=page[0].pk if page else 0))
    if has_older:
        links["older"] = _with_query(base, form.filter_query(before=page[-1].pk if page else 1))
        links["oldest"] = _with_query(base, form.filter_query(after=0))
    return links if has_newer or has_older else None


def _with_query(url, query):
    return f"{url}?{query}" if query else url


def _row(event, linked):
    return {
        **event_row(event),
        "id": event.pk,
        # An action wraps after its dots ("release.<wbr>rollback"), so the table fits its column.
        "action_parts": event.action.split("."),
        "rule": event.rule_slug,
        "rule_url": reverse("rule-detail", args=[event.rule_slug]) if event.rule_slug in linked else "",
        "ip": event.ip or "",
    }


# ---------------------------------------------------------------------------------------------
# CSV export

# A spreadsheet runs a cell starting with = + - @ as a formula, and some still do after leading
# whitespace; a tab or line break first is refused as well (OWASP: CSV injection).
_FORMULA = re.compile(r"\s*[=+\-@]|[\t\r\n]")
# How many rows go into one piece of the stream.
_ROWS_PER_PIECE = 500


def neutralise(value):
    """A cell a spreadsheet shows as text: one that could start a formula gets a leading `'`."""
    if value is None:
        return ""
    if isinstance(value, str) and _FORMULA.match(value):
        return "'" + value
    return value


def _csv_row(event):
    (pk, created_at, actor, action, outcome, target_type, target_id, target, rule, data, ip, prev, digest) = event
    text = neutralise
    # The id, the time, the outcome and the hashes are ours and cannot start a formula; every
    # other cell holds text someone could have typed.
    return (
        pk,
        created_at.isoformat(),
        text(actor),
        text(action),
        outcome,
        text(target_type),
        text(target_id),
        text(target),
        text(rule),
        text(json.dumps(data, separators=(",", ":"), ensure_ascii=False, sort_keys=True)),
        text(ip),
        prev,
        digest,
    )


def _csv_pieces(events):
    """The file in pieces of a few hundred rows, so 100,000 events never sit in memory at once."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    # A byte-order mark, so spreadsheet programs read the file as UTF-8.
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    events = iter(events)
    while batch := list(itertools.islice(events, _ROWS_PER_PIECE)):
        writer.writerows(_csv_row(event) for event in batch)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


@login_required
@require_GET
def audit_export(request):
    _require_viewer(request.user)
    form = _filter_form(request)
    if not form.is_valid():
        # The page, with the errors, instead of a file that would look filtered and is not.
        context = _form_context(request, form)
        return render_page(request, "audit/audit_list.html", context, section="audit", status=400)
    # Every matching event, in chain order; the page's cursors do not apply.
    events = (
        form.apply(AuditEvent.objects.all())
        .order_by("id")
        .values_list(
            "id",
            "created_at",
            "actor_name",
            "action",
            "outcome",
            "target_type",
            "target_id",
            "target_repr",
            "rule_slug",
            "data",
            "ip",
            "prev_hash",
            "hash",
        )
        .iterator(chunk_size=CSV_CHUNK)
    )
    response = StreamingHttpResponse(_csv_pieces(events), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response


# ---------------------------------------------------------------------------------------------
# Verify the chain


def _verification_panel(wanted):
    """The panel for verification `wanted` (from the query string), or for the latest one asked for."""
    verifications = ChainVerification.objects.for_panel()
    if not wanted:
        return verification_context(verifications.first())
    verification = (
        verifications.filter(pk=int(wanted)).first()
        if wanted.isascii() and wanted.isdigit() and len(wanted) < 19
        else None
    )
    if verification is not None:
        return verification_context(verification)
    # An unknown or malformed id (an old link, a typo): say so, and show the latest instead.
    return {**(verification_context(verifications.first()) or {}), "missing": wanted[:40]}


def verification_context(verification):
    """What `_verification.html` shows of one verification (None when there is none)."""
    if verification is None:
        return None
    active = not verification.is_finished
    return {
        "id": verification.pk,
        "status": verification.get_status_display(),
        "active": active,
        "queued": verification.status == ChainVerification.Status.QUEUED,
        "passed": verification.status == ChainVerification.Status.PASSED,
        "failed": verification.status == ChainVerification.Status.FAILED,
        "error": verification.status == ChainVerification.Status.ERROR,
        "total": verification.total,
        # A progress bar needs a maximum above zero, even over an empty history.
        "progress_max": verification.total or 1,
        "checked": min(verification.checked, verification.total) if active else verification.checked,
        "problem_count": verification.problem_count,
        "problems": verification.problems,
        "more_problems": verification.problem_count > len(verification.problems),
        "duration": f"{verification.duration_s:.2f}" if verification.duration_s is not None else "",
        "note": verification.note,
        "requested_by": verification.requested_by.username,
        "created_at": verification.created_at,
        "finished_at": verification.finished_at,
        "time_zone": settings.TIME_ZONE,
        "url": reverse("audit-verification", args=[verification.pk]),
    }


@login_required
@require_POST
def audit_verify(request):
    back = _back_query(request.POST.get("back", ""))
    try:
        verification = request_chain_verification(actor=request.user)
    except DomainError as exc:
        return refused(request, exc, _with_query(reverse("audit-list"), back))
    query = QueryDict(back, mutable=True)
    query["verification"] = verification.pk
    # Straight to the panel, which follows the verification until it is done.
    return HttpResponseRedirect(_with_query(reverse("audit-list"), query.urlencode()) + "#verification")


@login_required
@require_GET
def audit_verification(request, pk):
    """The Verification panel alone, which the audit page polls while the verification runs."""
    _require_viewer(request.user)
    verification = ChainVerification.objects.for_panel().filter(pk=pk).first() if pk < 2**63 else None
    if verification is None:
        raise Http404(f"No verification #{pk}.")
    return render(request, "audit/_verification.html", {"verification": verification_context(verification)})


def _back_query(text):
    """The filters the page had, re-encoded from known fields only: the redirect stays on this page."""
    given = QueryDict(text[:2000])
    query = QueryDict(mutable=True)
    for name in FILTER_FIELDS:
        if given.get(name):
            query[name] = given[name]
    return query.urlencode()
