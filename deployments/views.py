"""Promote and Roll back on the rule page: adapters onto the deployment services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from pdp_portal import permissions
from pdp_portal.exceptions import DomainError
from rules.forms import RollbackForm
from rules.views import form_refused, refused, rule_url, seconds

from .models import Environment
from .services import promote, rollback


@login_required
@require_POST
def promote_rule(request, slug):
    rule = permissions.get_rule_for_user(request.user, slug)
    back = rule_url(rule)
    try:
        deployment = promote(rule, actor=request.user, environment=Environment.PRODUCTION)
    except DomainError as exc:
        return refused(request, exc, back)
    messages.success(
        request,
        f"🎉 {rule.display_name} now LIVE in production ({deployment.to_label}), in {seconds(deployment.duration_s)}.",
    )
    return redirect(back)


@login_required
@require_POST
def rollback_rule(request, slug):
    rule = permissions.get_rule_for_user(request.user, slug)
    back = rule_url(rule)
    form = RollbackForm(request.POST)
    if not form.is_valid():
        return form_refused(request, form, back)
    args = form.cleaned_data
    environment = args["environment"] or Environment.PRODUCTION
    try:
        deployment = rollback(
            rule,
            actor=request.user,
            reason=args["reason"],
            to=args["to"] or "previous",
            environment=environment,
            expected_from=args.get(f"seen_{environment}") or None,
        )
    except DomainError as exc:
        return refused(request, exc, back)
    messages.success(
        request,
        f"↩️ {rule.display_name} on {deployment.environment.name} reverted from {deployment.from_label} "
        f"to {deployment.to_label} in {seconds(deployment.duration_s)} ({deployment.reason}).",
    )
    return redirect(back)
