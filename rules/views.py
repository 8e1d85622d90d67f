"""The rule pages: the list, a rule with its versions and checks, the checks fragment, upload.

Views are adapters: they fetch what the person may see, call a service for every write, and
hand the templates plain values (portal/pages.py has the helpers every page uses).
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from audit.models import AuditEvent
from checks.models import CheckRun
from checks.views import checks_context
from deployments.models import Deployment, Environment, Release
from deployments.views import deployment_rows, release_panel
from engine.document import parse_canonical
from engine.errors import DomainError
from pdp_portal import permissions
from portal.forms import show_refusal, shown_again
from portal.pages import (
    event_row,
    refused,
    render_page,
    rule_url,
    say_refused,
    short_hash,
    tag_class,
)
from portal.presenters.changes import plain_changes
from portal.presenters.readable import document_context
from reviews.forms import RejectForm, ReviewForm
from reviews.models import Review
from reviews.views import assign_panel, conversation_panel, review_form_id

from .forms import UploadForm
from .models import Rule, VersionStatus
from .services import push_rule_version

# ---------------------------------------------------------------------------------------------
# Rule list


@login_required
@require_GET
def rule_list(request):
    if not permissions.can_view_portal(request.user):
        raise PermissionDenied("Your account has no role in the portal yet; ask an administrator for one.")
    rules = permissions.visible_rules(request.user).with_listing().with_latest_status()
    rows = []
    for rule in rules:
        live = {release.environment.name: release for release in rule.releases.all()}
        rows.append(
            {
                "name": rule.display_name,
                "url": rule_url(rule),
                "title": rule.title,
                "program": rule.program,
                "latest": f"v{rule.latest_number}" if rule.latest_number else "—",
                "latest_status": VersionStatus(rule.latest_status).label if rule.latest_status else "",
                "latest_class": tag_class(rule.latest_status),
                "latest_at": rule.latest_at,
                "staging": _live_label(live.get(Environment.STAGING)),
                "production": _live_label(live.get(Environment.PRODUCTION)),
            }
        )
    return render_page(request, "rules/rule_list.html", {"rows": rows}, section="rules")


def _live_label(release):
    if release is None or release.version_id is None:
        return ""
    return release.version_label


# ---------------------------------------------------------------------------------------------
# Rule page


def _pick_version(versions, requested):
    """The version asked for with `?v=N`, else the latest; 404 for a number the rule does not have."""
    if not versions:
        return None
    if requested in (None, ""):
        return versions[0]
    try:
        number = int(str(requested).lstrip("v"))
    except ValueError:
        raise Http404("No such version.") from None
    for version in versions:
        if version.number == number:
            return version
    raise Http404(f"No version v{number}.")


@login_required
@require_GET
def rule_detail(request, slug):
    rule = permissions.get_rule_for_user(request.user, slug)
    return rule_page(request, rule, request.GET.get("v"))


def rule_page(request, rule, requested=None, *, shown=None, status=200):
    """The rule page, on version `requested` (its number; the newest without one).

    `shown`: forms refused a moment ago, by key ("reject-legal", "comment", "rollback"), shown with
    their problems at their fields in place of the empty ones; `status` is then the refusal's (400).
    A refused form the page no longer shows (the version left review meanwhile) is said as a message.
    """
    shown = dict(shown or {})
    # Documents can be 1 MiB each: only the selected version's is read (deferred, one query).
    versions = list(
        rule.versions.select_related("uploaded_by").defer("document").with_live_places().order_by("-number")
    )
    selected = _pick_version(versions, None if requested is None else str(requested))
    releases = {
        r.environment.name: r
        for r in Release.objects.filter(rule=rule)
        .select_related("rule", "environment", "version__rule")
        .defer("version__document")
    }
    deployments = list(
        Deployment.objects.filter(rule=rule)
        .select_related(
            "environment", "from_version", "to_version__rule", "actor", "review__reviewer", "schedule__created_by"
        )
        .defer("from_version__document", "to_version__document")
    )
    synced = Rule.objects.with_release_sync().get(pk=rule.pk)
    signed = set(rule.versions.signed_off().values_list("pk", flat=True))
    release = {"releases": releases, "deployments": deployments, "signed": signed}
    reviews = list(
        Review.objects.filter(version__rule=rule)
        .select_related("reviewer", "version")
        .defer("version__document")
        .order_by("-version__number", "created_at")
    )
    events = list(AuditEvent.objects.filter(rule_slug=rule.slug).timeline()[:100])

    context = {
        "rule": {"name": rule.display_name, "slug": rule.slug, "title": rule.title, "program": rule.program},
        "live": [_release_row(releases.get(name)) for name in (Environment.STAGING, Environment.PRODUCTION)],
        "versions": [_version_row(rule, v, selected) for v in versions],
        "reviews": [_review_row(r) for r in reviews],
        "deployments": deployment_rows(request.user, rule, **release),
        "events": [event_row(e) for e in events],
        "release": release_panel(
            request.user,
            synced,
            latest=versions[0] if versions else None,
            rollback_form=shown.pop("rollback", None),
            **release,
        ),
    }
    context["deploy_again"] = any((row["again"] or {}).get("url") for row in context["deployments"])
    if selected is not None:
        context["selected"] = _selected_panel(request.user, rule, selected, reviews, shown)
        context["checks"] = checks_context(rule, selected)
        context["document"] = _document_panel(selected, releases.get(Environment.PRODUCTION))
        context["assign"] = assign_panel(request.user, selected, shown)
        context["conversation"] = conversation_panel(request.user, selected, shown)
        context["replay"] = _replay_url(rule, selected)
    for form in shown.values():
        say_refused(request, form)
    return render_page(request, "rules/rule_detail.html", context, section="rules", status=status)


def _replay_url(rule, version):
    """Where the rule page loads the replay of a candidate (in review or approved, not live in production)."""
    candidate = version.status in (VersionStatus.IN_REVIEW, VersionStatus.APPROVED)
    if not candidate or Environment.PRODUCTION in version.live_places():
        return ""
    return reverse("version-replay", args=[rule.slug, version.number])


def form_refused_on_page(request, rule, number, key, form, status):
    """Answer a refused form of the rule page (`key` says which, as `rule_page` takes it).

    Problems at its fields (portal.forms.shown_again): the page again, on version `number`, the
    form with its problems, answering `status`. A refusal of the request as a whole: back to the
    page, which says it at its top and shows what is true now.
    """
    if not shown_again(form):
        return refused(request, form.refusal, rule_url(rule, number))
    return rule_page(request, rule, number, shown={key: form}, status=status)


def _document_panel(selected, production):
    """The selected version's document, readable, what changed, and its diff against production.

    What changed is told against the version live in production, or, with nothing live there,
    against the version before this one.
    """
    live = production.version if production is not None and production.version_id else None
    live_document = None
    if live is not None:
        # Production's document is read (one query) only when it is another version.
        live_document = selected.document if live.pk == selected.pk else live.document
    document = parse_canonical(selected.document)
    context = document_context(
        document,
        selected.label,
        parse_canonical(live_document) if live_document is not None else None,
        live.label if live is not None else None,
    )
    base, base_label = (parse_canonical(live_document), f"{live.label}, live in production") if live else (None, "")
    if live is None:
        before = selected.rule.versions.filter(number__lt=selected.number).order_by("-number").first()
        if before is not None:
            base, base_label = parse_canonical(before.document), f"{before.label}, the version before"
    context["changes"] = plain_changes(base, document) if base is not None else None
    context["changes_against"] = base_label
    context["is_production"] = live is not None and live.pk == selected.pk
    return context


def _release_row(release):
    if release is None:
        return None
    return {
        "environment": release.environment.name,
        "label": release.environment.label,
        "version": release.version_label,
        "live": release.version_id is not None,
        "updated_at": release.updated_at,
    }


def _version_row(rule, version, selected):
    return {
        "label": version.label,
        "url": rule_url(rule, version.number),
        "status": version.status_label,
        "status_class": tag_class(version.status_key),
        "uploaded_by": version.uploaded_by.username,
        "created_at": version.created_at,
        "hash": short_hash(version.content_hash),
        "selected": version == selected,
    }


def _review_row(review):
    return {
        "version": review.version.label,
        "role": settings.PDP_REVIEW_ROLES.get(review.role, review.role),
        "decision": review.get_decision_display(),
        "decision_class": tag_class(review.decision),
        "reviewer": review.reviewer.username,
        "comment": review.comment,
        "hash": short_hash(review.content_hash),
        "created_at": review.created_at,
    }


# What a version that failed its checks needs next, by the code of its first error.
_NEXT_STEP = {
    "OVER_BUDGET": "Lower the amount or narrow who is eligible so the cost fits, or ask the budget office to "
    "raise the limit, then push a new version.",
    "CHECK_ABANDONED": "The job did not finish: ask an administrator to check the worker, then push the same "
    "document again.",
    "INPUT_NOT_IN_POPULATION": "Read only columns the default population has, or ask the budget office for a "
    "population that has this one, then push again.",
}
_FAILED = {VersionStatus.LINT_FAILED: "Lint failed", VersionStatus.SIMULATION_FAILED: "Simulation failed"}


def _failure(version):
    """Why a failed version stopped and what to do next, from its failed check; None for any other version."""
    if version.status not in _FAILED:
        return None
    failed = version.checks.filter(status=CheckRun.Status.FAILED).order_by("kind").first()
    errors = [f for f in (failed.findings if failed else []) if f.get("severity") == "error"]
    first = errors[0] if errors else {}
    return {
        "title": _FAILED[version.status],
        "errors": [{"code": f.get("code", ""), "message": f.get("message", ""), "path": f.get("path", "")} for f in errors],
        "next": _NEXT_STEP.get(
            first.get("code"), "Fix the document where each error points, then push it as a new version."
        ),
    }  # fmt: skip


def _signoff_rows(version, reviews):
    """Each required role's sign-off on this version: approved or rejected by whom and when, or why not yet."""
    given = {r.role: r for r in reviews if r.version_id == version.pk}
    rejected = any(r.decision == Review.Decision.REJECT for r in given.values())
    rows = []
    for role, group in settings.PDP_REVIEW_ROLES.items():
        review = given.get(role)
        row = {"role": group, "decision": "", "who": "", "when": None, "comment": "", "note": ""}
        if review is not None:
            row.update(
                decision=review.get_decision_display(),
                decision_class=tag_class(review.decision),
                who=review.reviewer.username,
                when=review.created_at,
                comment=review.comment,
            )
        elif rejected:
            row["note"] = "not needed: the review ended with the rejection"
        elif version.status == VersionStatus.SUPERSEDED:
            row["note"] = "not given: a newer version replaced this one"
        else:
            row["note"] = "not yet"
        rows.append(row)
    return rows


def _selected_panel(user, rule, version, reviews, shown):
    """The selected version: its header, sign-offs so far, the review forms this person gets, the document.

    `shown`: forms refused a moment ago, by key; this person's review forms among them are taken from it.
    """
    roles = sorted(permissions.approvable_roles(user, version))
    failure = _failure(version)
    return {
        "label": version.label,
        "number": version.number,
        "status": version.status_label,
        "status_class": tag_class(version.status_key),
        "uploaded_by": version.uploaded_by.username,
        "created_at": version.created_at,
        "content_hash": version.content_hash,
        "hash_short": short_hash(version.content_hash),
        "failure": failure,
        # A version that failed its checks never reached review: its sign-offs mean nothing.
        "signoffs": [] if failure else _signoff_rows(version, reviews),
        "review_roles": [_review_forms(role, shown) for role in roles],
        "approve_url": reverse("version-approve", args=[rule.slug, version.number]),
        "reject_url": reverse("version-reject", args=[rule.slug, version.number]),
    }


def _review_forms(role, shown):
    """The approve and reject forms of one role: empty, or as refused a moment ago."""
    forms = {"role": role, "label": settings.PDP_REVIEW_ROLES.get(role, role)}
    for kind, form_class in (("approve", ReviewForm), ("reject", RejectForm)):
        forms[kind] = shown.pop(f"{kind}-{role}", None) or form_class(auto_id=review_form_id(kind, role))
    return forms


# ---------------------------------------------------------------------------------------------
# Upload


# How much of a long line the excerpt shows, and how much of it before the error's column.
_EXCERPT_WIDTH, _EXCERPT_LEAD = 300, 120


def _excerpt(raw, line, column, around=2):
    """The lines up to a parse error, numbered, the character at its column marked, a caret under it.

    A long line (a document on one line) is shown from a little before the column, every line
    from the same character, so the caret stays under the mistake.
    """
    if not line:
        return []
    # Split at "\n" only, as the JSON parser counts lines (not at U+2028 and the like).
    lines = raw.decode("utf-8", errors="replace").split("\n")
    if line > len(lines):
        return []
    column = max(1, column or 1)
    start = max(0, column - 1 - _EXCERPT_LEAD)
    rows = []
    for number in range(max(1, line - around), line + 1):
        text = lines[number - 1].rstrip("\r")[start : start + _EXCERPT_WIDTH]
        rows.append({"number": number, "text": text, "cut": start > 0})
    here, at = rows[-1], column - 1 - start
    here.update(
        {"here": True, "before": here["text"][:at], "at": here["text"][at : at + 1], "after": here["text"][at + 1 :]}
    )
    rows.append({"number": "", "text": " " * (at + (1 if start else 0)) + "^", "caret": True})
    return rows


@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    form = UploadForm(request.POST if request.method == "POST" else None, request.FILES or None)
    status, refusal = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                version = push_rule_version(form.raw_bytes(), actor=request.user)
            except DomainError as exc:
                status, refusal = exc.status, _show_upload_refusal(form, exc)
            else:
                messages.success(
                    request, f"Uploaded {version.rule.display_name} ({version.label}). Lint and simulation are queued."
                )
                return redirect(rule_url(version.rule, version.number))
    if not permissions.can_push(request.user):
        raise PermissionDenied("You may not upload rules; ask an administrator for the drafter role.")
    context = {"form": form, "refusal": refusal}
    return render_page(request, "rules/upload.html", context, section="upload", status=status)


def _show_upload_refusal(form, exc):
    """The service's refusal said at the field the document came from, with the lines up to the mistake.

    A refused file's text is put in the box (a browser never keeps a chosen file), and the refusal
    is said there; a file that is not text keeps the refusal on the file field.
    """
    raw, field = form.raw_bytes(), form.source
    if field == "file" and exc.status not in (403, 404) and form.keep_file():
        field = "text"
    show_refusal(form, exc, field=field)
    line, column = exc.details.get("line"), exc.details.get("column")
    return {"field": field, "column": column, "excerpt": _excerpt(raw, line, column)}
