"""Promote and Roll back: adapters onto the deployment services (the board is portal/board.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from engine.errors import DomainError
from pdp_portal import permissions
from portal.pages import form_refused, moved, refused, rule_url

from .forms import PromoteForm, RollbackForm
from .models import Environment
from .services import promote, rollback


@login_required
@require_POST
def promote_rule(request, slug):
    rule = permissions.get_rule_for_user(request.user, slug)
    form = PromoteForm(request.POST)
    # The board's buttons come back to the board; the rule page's to the rule page.
    back = reverse("environments") if request.POST.get("back") == "board" else rule_url(rule)
    if not form.is_valid():
        return form_refused(request, form, back)
    args = form.cleaned_data
    try:
        deployment = promote(
            rule,
            actor=request.user,
            environment=args["environment"] or Environment.PRODUCTION,
            number=args["version"],
            note=args["note"],
        )
    except DomainError as exc:
        return refused(request, exc, back)
    messages.success(request, moved(deployment))
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
    messages.success(request, moved(deployment))
    return redirect(back)
