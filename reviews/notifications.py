"""The review e-mails: to a reviewer when assigned, to the drafter when the review ends.

They are sent after the commit of the change they announce, and read what was committed, so a
message never tells of something that was rolled back. A mail server that is down does not undo
the change: the failure is logged and the rule page still shows everything the message would.
"""

import logging

from django.conf import settings
from django.core.mail import BadHeaderError, send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from deployments.models import Environment, Release
from rules.models import RuleVersion, VersionStatus

from .models import Review, ReviewAssignment

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def absolute_url(path):
    """`path` on the portal as people reach it (`PDP_BASE_URL`)."""
    base = getattr(settings, "PDP_BASE_URL", "") or DEFAULT_BASE_URL
    return f"{base.rstrip('/')}{path}"


def version_url(version):
    return absolute_url(f"{reverse('rule-detail', args=[version.rule.slug])}?v={version.number}")


def person(user):
    """How a person is named in a message: their full name when they have one, else their username."""
    return user.get_full_name() or user.username


def role_label(role):
    return settings.PDP_REVIEW_ROLES.get(role, role)


def _send(subject, template, context, to):
    """Send one message; a message that cannot be built or accepted is logged, never raised past here.

    A server that cannot be reached raises (OSError, SMTPException), so the worker's task retries.
    """
    try:
        body = render_to_string(template, context)
        send_mail(subject, body, None, [to])
    except (BadHeaderError, ValueError):  # a malformed address or header: retrying will not help
        logger.exception("Could not send %r to %s", subject, to)
        return False
    return True


def review_requested(assignment):
    """Subject and body of the message telling a reviewer they were assigned."""
    version = assignment.version
    context = {
        "reviewer": person(assignment.reviewer),
        "assigned_by": person(assignment.assigned_by),
        "role": role_label(assignment.role),
        "version": str(version),
        "title": version.rule.title,
        "url": version_url(version),
    }
    subject = f"Review requested: {version} ({context['role']})"
    return subject, "reviews/email/review_requested.txt", context


def send_review_requested(assignment_id):
    """E-mail an assigned reviewer (after the assignment's commit). False when nothing was sent."""
    assignment = (
        ReviewAssignment.objects.select_related("version__rule", "reviewer", "assigned_by")
        .defer("version__document")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None or not assignment.reviewer.email:
        return False
    subject, template, context = review_requested(assignment)
    return _send(subject, template, context, assignment.reviewer.email)


def review_ended(version):
    """Subject, template and context of the message telling the drafter how the review ended; None if it has not."""
    reviews = list(version.reviews.select_related("reviewer").order_by("created_at"))
    context = {
        "drafter": person(version.uploaded_by),
        "version": str(version),
        "title": version.rule.title,
        "url": version_url(version),
    }
    rejection = next((r for r in reviews if r.decision == Review.Decision.REJECT), None)
    if version.status == VersionStatus.REJECTED and rejection is not None:
        context.update(
            {"role": role_label(rejection.role), "reviewer": person(rejection.reviewer), "comment": rejection.comment}
        )
        return f"Rejected: {version} ({context['role']})", "reviews/email/review_rejected.txt", context
    if version.status != VersionStatus.APPROVED:
        return None
    order = list(settings.PDP_REVIEW_ROLES)
    approvals = sorted(
        (r for r in reviews if r.decision == Review.Decision.APPROVE),
        key=lambda r: order.index(r.role) if r.role in order else len(order),
    )
    on_staging = Release.objects.filter(
        rule_id=version.rule_id, environment__name=Environment.STAGING, version=version
    ).exists()
    context.update(
        {
            "signoffs": " and ".join(f"{role_label(r.role)} ({person(r.reviewer)})" for r in approvals),
            "on_staging": on_staging,
        }
    )
    subject = f"Approved: {version} is on staging" if on_staging else f"Approved: {version}"
    return subject, "reviews/email/review_approved.txt", context


def send_review_ended(version_id):
    """E-mail the drafter that the review of their version ended (after its commit). False when nothing was sent."""
    version = RuleVersion.objects.select_related("rule", "uploaded_by").defer("document").filter(pk=version_id).first()
    if version is None or not version.uploaded_by.email:
        return False
    message = review_ended(version)
    if message is None:
        return False
    subject, template, context = message
    return _send(subject, template, context, version.uploaded_by.email)
