"""The environments board: every rule with what staging and production serve, whether they are in sync, and
Promote or Deploy again from here (or why not)."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.views.decorators.http import require_GET

from deployments.models import Environment, Release, ScheduledPromotion
from deployments.views import deploy_offer, schedule_choice, scheduled_rows, staging_offer
from pdp_portal import permissions
from rules.models import RuleVersion

from .pages import render_page, rule_url, sync_tag

BOARD_PAGE_SIZE = 100

_BOARD_SHOW = {
    "all": "every rule",
    "pending": "waiting for production",
    "live": "live in production",
}


@login_required
@require_GET
def board(request):
    """Every rule with the version staging and production serve; promote from here."""
    if not permissions.can_view_portal(request.user):
        raise PermissionDenied("Your account has no role in the portal yet; ask an administrator for one.")
    query = (request.GET.get("q") or "").strip()[:100]
    show = request.GET.get("show") or "all"
    if show not in _BOARD_SHOW:
        show = "all"
    rules = permissions.visible_rules(request.user).with_listing().order_by("slug")
    if query:
        rules = rules.filter(Q(slug__icontains=query) | Q(title__icontains=query) | Q(program__icontains=query))
    rules = rules.annotate(awaiting=Exists(Release.objects.awaiting_production().filter(rule=OuterRef("pk"))))
    if show == "pending":
        rules = rules.filter(awaiting=True)
    elif show == "live":
        rules = rules.filter(
            Exists(
                Release.objects.filter(
                    rule=OuterRef("pk"), environment__name=Environment.PRODUCTION, version__isnull=False
                )
            )
        )
    page = Paginator(rules.with_release_sync(), BOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    rules_shown = list(page.object_list)
    # The versions a row may offer to deploy (staging's, and the one production was rolled back from),
    # in two queries for the page: the rolled-back-from versions and which of all of them are signed off.
    staging_versions = {
        r.version_id: r.version for rule in rules_shown for r in rule.releases.all() if r.version_id is not None
    }
    rolled_back = set(filter(None, (rule.rolled_back_from_id for rule in rules_shown))) - set(staging_versions)
    versions = {**staging_versions, **RuleVersion.objects.select_related("rule").defer("document").in_bulk(rolled_back)}
    signed = set(RuleVersion.objects.filter(pk__in=list(versions)).signed_off().values_list("pk", flat=True))
    permissions.load_for_governance(list(versions.values()))  # a row offers no button a governance check refuses
    pending: dict[int, list[ScheduledPromotion]] = {}
    for schedule in ScheduledPromotion.objects.pending().filter(rule__in=rules_shown):
        pending.setdefault(schedule.rule_id, []).append(schedule)
    rows = [_board_row(rule, request.user, versions, signed, pending.get(rule.pk, [])) for rule in rules_shown]
    params = {"q": query, "show": show}
    context = {
        "rows": rows,
        "query": query,
        "show": show,
        "show_choices": [{"value": k, "label": v} for k, v in _BOARD_SHOW.items()],
        "page": page,
        "pages": _page_links(page, params),
        "total": page.paginator.count,
        "any_scheduled": any(s["cancel_url"] for row in rows for s in row["scheduled"]),
    }
    return render_page(request, "deployments/board.html", context, section="environments")


def _board_row(rule, user, versions, signed, scheduled):
    live = {release.environment.name: release for release in rule.releases.all()}
    staging, production = live.get(Environment.STAGING), live.get(Environment.PRODUCTION)
    staging_label = staging.version_label if staging and staging.version_id else "v0"
    production_label = production.version_label if production and production.version_id else "v0"
    sync = rule.release_sync()
    row = {
        "name": rule.display_name,
        "slug": rule.slug,
        "title": rule.title,
        "program": rule.program,
        "url": rule_url(rule),
        "latest": f"v{rule.latest_number}" if rule.latest_number else "—",
        "staging": staging_label,
        "staging_since": staging.updated_at if staging and staging.version_id else None,
        "production": production_label,
        "production_since": production.updated_at if production and production.version_id else None,
        "pending": rule.awaiting,
        "sync": sync_tag(sync),
        "offer": None,
        "why": "",
        "can_roll_back": permissions.can_rollback(user),
        # Promotions waiting for their time, with who scheduled them and Cancel.
        "scheduled": scheduled_rows(user, scheduled, back="board"),
    }
    if staging is None or production is None:
        return row
    # The version on staging first (promote, or deploy again when production served it), else the
    # version production was rolled back from. No button for the version's own drafter.
    staging.version = versions.get(staging.version_id)
    offer = staging_offer(user, rule, staging=staging, production=production, signed=signed, back="board")
    back_from = rule.rolled_back_from_id
    if "why" in offer and back_from is not None and back_from != staging.version_id:
        again = deploy_offer(
            user,
            rule,
            versions[back_from],
            serving=production,
            staging=staging,
            was_live=True,
            signed_off=back_from in signed,
            back="board",
        )
        offer = again if "why" not in again else offer
    if "why" not in offer:
        row["offer"] = {**offer, "schedule": schedule_choice(rule)}
    elif not offer["hidden"] and sync is not None and sync.key != "in-sync":
        row["why"] = offer["why"]  # a row out of sync says why it offers nothing; one in sync needs nothing
    return row


def _page_links(page, params):
    """Previous/next links that keep the filters."""

    def link(number):
        return "?" + urlencode({**{k: v for k, v in params.items() if v}, "page": number})

    return {
        "previous": link(page.previous_page_number()) if page.has_previous() else "",
        "next": link(page.next_page_number()) if page.has_next() else "",
        "number": page.number,
        "count": page.paginator.num_pages,
    }
