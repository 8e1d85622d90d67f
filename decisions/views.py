"""The decision log on the portal: a candidate version replayed against production's latest decisions (a
fragment of the rule page, and a page of the changed decisions), and what a rollback would change (a
fragment of the rollback dialog, its page, and the affected decisions as CSV)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from deployments.models import Environment
from engine.errors import DomainError
from pdp_portal import permissions
from pdp_portal.exceptions import NotPermitted
from portal.pages import render_page, rule_url
from portal.presenters.figures import count, money, signed_money

from .services import COMPARED_AT_MOST, export_rollback_impact, replay, rollback_impact, rollback_target


def _version(rule, number):
    version = rule.versions.defer("document").filter(number=number).first()
    if version is None:
        raise Http404(f"No version v{number}.")
    return version


def _figures(impact):
    """What the replay and the rollback dialog say of an Impact, as display values."""
    return {
        "compared": count(impact.compared),
        "changed": count(impact.changed),
        "newly_eligible": count(impact.newly_eligible),
        "no_longer_eligible": count(impact.no_longer_eligible),
        "amount_changes": count(impact.amount_changes),
        "errors": count(impact.errors) if impact.errors else "",
        "eligible_before": count(impact.eligible_before),
        "eligible_after": count(impact.eligible_after),
        "cost_before": money(impact.cost_before),
        "cost_after": money(impact.cost_after),
        "cost_delta": signed_money(impact.cost_delta),
        "without_inputs": count(impact.without_inputs) if impact.without_inputs else "",
        "hashed": impact.accounts_hashed,
        "none": impact.compared == 0 and impact.without_inputs == 0,
    }


def _example_rows(examples):
    """The changed decisions, each request id anchored once (a batch request holds many decisions)."""
    rows, anchored = [], set()
    for example in examples:
        rows.append(
            {
                "anchor": "" if example.request_id in anchored else f"request-{example.request_id}",
                "request_id": example.request_id,
                "at": example.at,
                "account": example.account,
                "kind": example.kind,
                "before": _answer(example.eligible_before, example.amount_before, None),
                "after": _answer(example.eligible_after, example.amount_after, example.error_after),
                "inputs": example.inputs or "",
            }
        )
        anchored.add(example.request_id)
    return rows


def _answer(eligible, amount, error):
    if error is not None:
        return f"error: {error}"
    return f"eligible, {money(amount)}" if eligible else "not eligible"


@login_required
@require_GET
def version_replay(request, slug, number):
    """The replay of one version: the rule page's section (htmx), or the page of its changed decisions."""
    rule = permissions.get_rule_for_user(request.user, slug)
    version = _version(rule, number)
    impact = replay(version)
    page = reverse("version-replay", args=[rule.slug, version.number])
    context = {
        "rule": {"name": rule.display_name, "slug": rule.slug, "url": rule_url(rule, version.number)},
        "version": version.label,
        "replay": {
            **_figures(impact),
            "limit": count(settings.PDP_REPLAY_DECISIONS),
            "page": page,
            "examples": _example_rows(impact.examples),
        },
    }
    if request.htmx:
        response = render(request, "decisions/_replay.html", context)
    else:
        response = render_page(request, "decisions/replay.html", context, section="rules")
    return _by_htmx(response)


def _by_htmx(response):
    """The same address answers a fragment to htmx and a page otherwise: caches must keep them apart."""
    patch_vary_headers(response, ("HX-Request",))
    return response


def _rollback_choice(request, rule):
    """(environment, target version or None, its label, the refusal or None) the request asks about."""
    environment = request.GET.get("environment") or Environment.PRODUCTION
    to = request.GET.get("to") or "previous"
    try:
        target = rollback_target(rule, environment, to)
    except DomainError as exc:
        return environment, None, "", exc
    return environment, target, target.label if target is not None else "v0", None


@login_required
@require_GET
def rollback_impact_view(request, slug):
    """What rolling an environment back would change: the rollback dialog's sentence (htmx), or its page."""
    rule = permissions.get_rule_for_user(request.user, slug)
    if not permissions.can_rollback(request.user):
        raise PermissionDenied("You may not roll back rules; this takes the release manager role.")
    environment, target, label, refusal = _rollback_choice(request, rule)
    context = {"rule": {"name": rule.display_name, "slug": rule.slug, "url": rule_url(rule)}}
    if refusal is not None:
        context["impact"] = {"refusal": refusal.message}
    else:
        found = rollback_impact(rule, environment, target)
        query = urlencode({"environment": environment, "to": label})
        context["impact"] = {
            **_figures(found.impact),
            "environment": environment.capitalize(),
            "current": found.current.label if found.current is not None else "v0",
            "target": label,
            "live_since": found.live_since,
            "made": count(found.made),
            "compared_all": found.compared_all,
            "compared_at_most": count(COMPARED_AT_MOST),
            "csv": f"{reverse('rule-rollback-affected', args=[rule.slug])}?{query}",
            "page": f"{reverse('rule-rollback-impact', args=[rule.slug])}?{query}",
            "examples": _example_rows(found.impact.examples),
        }
    if request.htmx:
        # A fragment of the dialog: its refusal is said in place, where the sentence would be.
        return _by_htmx(render(request, "decisions/_rollback_impact.html", context))
    status = 400 if refusal is not None else 200
    return _by_htmx(render_page(request, "decisions/rollback_impact.html", context, section="rules", status=status))


@login_required
@require_GET
def rollback_affected_csv(request, slug):
    """Every decision a rollback would change, as CSV (audited: it holds account ids)."""
    rule = permissions.get_rule_for_user(request.user, slug)
    environment, target, label, refusal = _rollback_choice(request, rule)
    if refusal is not None and permissions.can_rollback(request.user):
        return HttpResponse(refusal.message, status=400, content_type="text/plain; charset=utf-8")
    try:
        rows = export_rollback_impact(rule, actor=request.user, environment=environment, target=target)
    except NotPermitted as exc:
        raise PermissionDenied(exc.message) from exc
    current = rule.releases.filter(environment__name=environment).select_related("version").first()
    name = f"{rule.slug}-{environment}-{current.version_label if current else 'v0'}-to-{label}-affected.csv"
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
