"""Each person's home page: the queue of what waits for them, with counts and ages.

A person holding several roles sees one section per role. Every queue is a fixed number of
queries however long it is (see tests/portal/test_home.py), shows the oldest or newest
QUEUE_SIZE items and says how many there are in all.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import (
    Case,
    Count,
    FloatField,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    Subquery,
    Value,
    When,
)
from django.views.decorators.http import require_GET

from checks.models import CheckRun
from deployments.models import Environment, Release
from engine.simulation import short_money
from pdp_portal import permissions
from reviews.models import Review
from rules.models import IN_FLIGHT, RuleVersion, VersionStatus

from .pages import render_page, rule_url, tag_class

QUEUE_SIZE = 50

_CHECK_FIELDS = ("id", "version_id", "kind", "status", "progress", "findings")


def _simulated_cost():
    """The stored cost of a version's simulation, as a subquery (no per-row query)."""
    return Subquery(
        CheckRun.objects.filter(version=OuterRef("pk"), kind=CheckRun.Kind.SIMULATION).values("result__cost")[:1],
        output_field=FloatField(),
    )


def _versions():
    return (
        RuleVersion.objects.select_related("rule", "uploaded_by")
        .defer("document")
        .with_live_places()
        .annotate(
            cost=_simulated_cost(),
            approvals=Count("reviews", filter=Q(reviews__decision=Review.Decision.APPROVE), distinct=True),
        )
        .prefetch_related(Prefetch("checks", queryset=CheckRun.objects.only(*_CHECK_FIELDS).order_by("kind")))
    )


def _check_summary(check):
    findings = check.findings or []
    errors = sum(1 for f in findings if f.get("severity") == "error")
    warnings = sum(1 for f in findings if f.get("severity") == "warning")
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    title = "Lint" if check.kind == CheckRun.Kind.LINT else "Simulation"
    status = check.get_status_display()
    if not check.is_finished:
        status = f"{status} {check.progress}%"
    return {
        "title": title,
        "status": status,
        "status_class": tag_class(check.status),
        "findings": ", ".join(parts),
    }


def _version_item(version, *, assigned=False):
    required = len(settings.PDP_REVIEW_ROLES)
    return {
        "name": version.rule.display_name,
        "label": version.label,
        "title": version.rule.title,
        "url": rule_url(version.rule, version.number),
        "status": version.status_label,
        "status_class": tag_class(version.status_key),
        "drafter": version.uploaded_by.username,
        "cost": short_money(version.cost) if version.cost is not None else "—",
        "signoffs": f"{version.approvals} of {required}",
        "checks": [_check_summary(c) for c in version.checks.all()],
        "created_at": version.created_at,
        "since": version.status_changed_at,
        "assigned": assigned,
    }


def _section(key, heading, intro, items, total, counts=(), empty=""):
    return {
        "key": key,
        "heading": heading,
        "intro": intro,
        "items": items,
        "total": total,
        "shown": len(items),
        "counts": [{"label": label, "value": value} for label, value in counts],
        "empty": empty,
    }


def _drafter_section(user):
    mine = RuleVersion.objects.filter(uploaded_by=user)
    by_status = dict(mine.values_list("status").annotate(n=Count("id")).order_by())
    total = sum(by_status.values())
    counts = [
        ("Checks running", sum(by_status.get(s, 0) for s in IN_FLIGHT)),
        ("In review", by_status.get(VersionStatus.IN_REVIEW, 0)),
        (
            "Failed checks",
            by_status.get(VersionStatus.LINT_FAILED, 0) + by_status.get(VersionStatus.SIMULATION_FAILED, 0),
        ),
        ("Rejected", by_status.get(VersionStatus.REJECTED, 0)),
        ("Approved", by_status.get(VersionStatus.APPROVED, 0)),
    ]
    # The newest ids first (a cheap indexed read), then the details of just those: annotating and
    # sorting every version a prolific drafter ever uploaded costs ten times more.
    newest = list(mine.order_by("-created_at", "-id").values_list("pk", flat=True)[:QUEUE_SIZE])
    items = [_version_item(v) for v in _versions().filter(pk__in=newest).order_by("-created_at", "-id")]
    return _section(
        "drafter",
        "Your versions",
        "Every version you uploaded, newest first, with its checks and sign-offs.",
        items,
        total,
        counts,
        empty="You have not uploaded a rule yet.",
    )


def _review_section(user, role):
    group = settings.PDP_REVIEW_ROLES[role]
    # Versions in review are few at any time: the ids of those this person may sign, then their details.
    held = set(RuleVersion.objects.awaiting_review_by(user, role).values_list("pk", flat=True))
    assigned = permissions.assigned_version_ids(user) & held
    # Ordered through an annotation: a bare constant in ORDER BY (the Case collapses to 1 when
    # nothing is assigned) would mean "the first column" to PostgreSQL.
    mine_first = Case(When(pk__in=assigned, then=Value(0)), default=Value(1), output_field=IntegerField())
    versions = (
        _versions()
        .filter(pk__in=held)
        .annotate(mine_first=mine_first)
        .order_by("mine_first", "status_changed_at", "pk")[:QUEUE_SIZE]
    )
    items = [_version_item(v, assigned=v.pk in assigned) for v in versions]
    oldest = min((item["since"] for item in items), default=None)
    return _section(
        f"review-{role}",
        f"Waiting for {group} review",
        f"Versions whose {group} sign-off you can give: those assigned to you by name first, then the longest waiting.",
        items,
        len(held),
        [(f"Waiting for {group}", len(held)), (f"Assigned to you ({group})", len(assigned))],
        empty=f"Nothing waits for a {group} review.",
    ) | {"oldest": oldest}


def _releases(environment):
    return (
        Release.objects.filter(environment__name=environment, version__isnull=False)
        .select_related("rule", "version")
        .defer("version__document")
        .annotate(
            cost=Subquery(
                CheckRun.objects.filter(version=OuterRef("version_id"), kind=CheckRun.Kind.SIMULATION).values(
                    "result__cost"
                )[:1],
                output_field=FloatField(),
            )
        )
    )


def _release_item(release, other=None):
    return {
        "name": release.rule.display_name,
        "title": release.rule.title,
        "url": rule_url(release.rule),
        "version": release.version_label,
        "other": other,
        "cost": short_money(release.cost) if release.cost is not None else "—",
        "since": release.updated_at,
    }


def _release_sections():
    pending = _releases(Environment.STAGING).awaiting_production()
    production_numbers = dict(
        Release.objects.filter(environment__name=Environment.PRODUCTION, version__isnull=False).values_list(
            "rule_id", "version__number"
        )
    )
    pending_total = pending.count()
    pending_items = [
        _release_item(r, other=f"v{production_numbers[r.rule_id]}" if r.rule_id in production_numbers else "v0")
        for r in pending.order_by("updated_at", "id")[:QUEUE_SIZE]
    ]
    live = _releases(Environment.PRODUCTION)
    live_total = live.count()
    live_items = [_release_item(r) for r in live.order_by("-updated_at", "-id")[:QUEUE_SIZE]]
    return [
        _section(
            "release-pending",
            "Waiting for production",
            "On staging and not yet in production, longest waiting first.",
            pending_items,
            pending_total,
            [("Waiting for production", pending_total)],
            empty="Nothing on staging waits for production.",
        ),
        _section(
            "release-live",
            "Live in production",
            "What production serves, most recently changed first.",
            live_items,
            live_total,
            [("Live in production", live_total)],
            empty="Nothing is live in production.",
        ),
    ]


@login_required
@require_GET
def home(request):
    user = request.user
    if not permissions.can_view_portal(user):
        raise PermissionDenied("Your account has no role in the portal yet; ask an administrator for one.")
    roles = permissions.role_names(user)
    sections = []
    if "drafter" in roles:
        sections.append(_drafter_section(user))
    sections += [_review_section(user, role) for role in settings.PDP_REVIEW_ROLES if role in roles]
    if "release" in roles:
        sections += _release_sections()
    return render_page(request, "rules/home.html", {"sections": sections}, section="home")
