"""Approve and Reject buttons on the rule page: adapters onto the review services."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from deployments.models import Release
from pdp_portal import permissions
from pdp_portal.exceptions import DomainError
from rules.forms import ReviewForm
from rules.models import RuleVersion, VersionStatus
from rules.views import form_refused, refused, rule_url

from .services import approve_version, reject_version


def _role_label(role):
    return settings.PDP_REVIEW_ROLES.get(role, role)


def _review(request, slug, number, service):
    """Parse the form, fetch the version for this person, call the service; None or the response."""
    rule = permissions.get_rule_for_user(request.user, slug)
    version = get_object_or_404(RuleVersion.objects.select_related("rule"), rule=rule, number=number)
    form, back = ReviewForm(request.POST), rule_url(rule, number)
    if not form.is_valid():
        return version, None, form_refused(request, form, back)
    args = form.cleaned_data
    try:
        review = service(
            version,
            actor=request.user,
            expected_hash=args["expected_hash"],
            role=args["role"] or None,
            comment=args["comment"],
        )
    except DomainError as exc:
        return version, None, refused(request, exc, back)
    return version, review, redirect(back)


@login_required
@require_POST
def approve(request, slug, number):
    version, review, response = _review(request, slug, number, approve_version)
    if review is not None:
        version.refresh_from_db(fields=["status"])
        messages.success(request, f"{_role_label(review.role)} sign-off recorded on {version}.")
        if version.status == VersionStatus.APPROVED:
            messages.success(request, "✅ All required reviews received.")
            if Release.objects.filter(rule=version.rule, environment__name="staging", version=version).exists():
                messages.success(request, "🚀 Promoted to STAGING.")
    return response


@login_required
@require_POST
def reject(request, slug, number):
    version, review, response = _review(request, slug, number, reject_version)
    if review is not None:
        messages.success(request, f"{version} rejected ({_role_label(review.role)}): {review.comment}")
    return response
