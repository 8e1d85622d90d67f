"""The environments board: every rule with the versions staging and production serve; promote from here."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.views.decorators.http import require_GET

from deployments.models import Environment, Release
from pdp_portal import permissions

from .pages import render_page, rule_url

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
    page = Paginator(rules, BOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_board_row(rule, request.user) for rule in page.object_list]
    params = {"q": query, "show": show}
    context = {
        "rows": rows,
        "query": query,
        "show": show,
        "show_choices": [{"value": k, "label": v} for k, v in _BOARD_SHOW.items()],
        "page": page,
        "pages": _page_links(page, params),
        "total": page.paginator.count,
    }
    return render_page(request, "deployments/board.html", context, section="environments")


def _board_row(rule, user):
    live = {release.environment.name: release for release in rule.releases.all()}
    staging, production = live.get(Environment.STAGING), live.get(Environment.PRODUCTION)
    staging_label = staging.version_label if staging and staging.version_id else "v0"
    production_label = production.version_label if production and production.version_id else "v0"
    return {
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
        # No button for the version's own drafter: production never takes a version from them.
        "promote_url": (
            reverse("rule-promote", args=[rule.slug])
            if rule.awaiting and permissions.can_promote_now(user, staging.version)
            else ""
        ),
    }


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
