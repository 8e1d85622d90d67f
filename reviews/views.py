"""Approve, Reject and Assign reviewer on the rule page: adapters onto the review services."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from deployments.models import Release
from engine.document import parse_canonical
from engine.errors import DomainError
from pdp_portal import permissions
from portal.pages import form_refused, refused, rule_url
from portal.presenters.changes import plain_changes
from rules.models import RuleVersion, VersionStatus

from .forms import AssignReviewerForm, CommentForm, ReviewForm
from .models import Review, ReviewAssignment, ReviewComment
from .services import approve_version, assign_reviewer, comment_on_version, reject_version


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
            messages.success(request, "All required reviews received.")
            if Release.objects.filter(rule=version.rule, environment__name="staging", version=version).exists():
                messages.success(request, "Promoted to STAGING.")
    return response


@login_required
@require_POST
def reject(request, slug, number):
    version, review, response = _review(request, slug, number, reject_version)
    if review is not None:
        messages.success(request, f"{version} rejected ({_role_label(review.role)}): {review.comment}")
    return response


@login_required
@require_POST
def assign(request, slug, number):
    rule = permissions.get_rule_for_user(request.user, slug)
    version = get_object_or_404(RuleVersion.objects.select_related("rule"), rule=rule, number=number)
    if not permissions.can_assign_reviewers(request.user):
        # Before reading the form, whose answers would otherwise tell who exists.
        raise PermissionDenied("Only administrators (release managers) may assign reviewers.")
    form, back = AssignReviewerForm(request.POST), rule_url(rule, number)
    if not form.is_valid():
        return form_refused(request, form, back)
    try:
        assignment = assign_reviewer(
            version, actor=request.user, reviewer=form.cleaned_data["reviewer"], role=form.cleaned_data["role"]
        )
    except DomainError as exc:
        return refused(request, exc, back)
    reviewer = assignment.reviewer
    told = "they were sent an e-mail" if reviewer.email else "they have no e-mail address, so tell them yourself"
    messages.success(
        request, f"{reviewer.username} is assigned as {_role_label(assignment.role)} reviewer of {version}; {told}."
    )
    return redirect(back)


@login_required
@require_POST
def comment(request, slug, number):
    rule = permissions.get_rule_for_user(request.user, slug)
    version = get_object_or_404(RuleVersion.objects.select_related("rule"), rule=rule, number=number)
    form, back = CommentForm(request.POST), rule_url(rule, number) + "#conversation-heading"
    if not form.is_valid():
        return form_refused(request, form, back)
    try:
        comment_on_version(version, actor=request.user, body=form.cleaned_data["body"])
    except DomainError as exc:
        return refused(request, exc, back)
    messages.success(request, f"Your comment on {version} is posted.")
    return redirect(back)


def _entries(version):
    """The decisions and comments on a version, oldest first, as the conversation shows them."""
    reviews = Review.objects.filter(version=version).select_related("reviewer")
    comments = ReviewComment.objects.filter(version=version).select_related("author")
    entries = [
        {
            "who": r.reviewer.username,
            "when": r.created_at,
            "kind": r.decision,
            "label": f"{r.get_decision_display()} as {_role_label(r.role)}",
            "text": r.comment,
        }
        for r in reviews
    ]
    entries += [
        {"who": c.author.username, "when": c.created_at, "kind": "comment", "label": "commented", "text": c.body}
        for c in comments
    ]
    return sorted(entries, key=lambda entry: entry["when"])


def conversation_panel(user, version):
    """The version's conversation (decisions and comments), and the review of the rejected version before it."""
    previous = RuleVersion.objects.filter(rule=version.rule, number__lt=version.number).order_by("-number").first()
    earlier = None
    if previous is not None and previous.status == VersionStatus.REJECTED:
        earlier = {
            "label": previous.label,
            "url": rule_url(version.rule, previous.number),
            "entries": _entries(previous),
            "changes": plain_changes(parse_canonical(previous.document), parse_canonical(version.document)),
            "compare_url": reverse("rule-compare", args=[version.rule.slug])
            + f"?from={previous.number}&to={version.number}",
        }
    return {
        "version": version.label,
        "entries": _entries(version),
        "earlier": earlier,
        "url": reverse("version-comment", args=[version.rule.slug, version.number])
        if permissions.can_comment(user)
        else None,
        "form": CommentForm(),
    }


def assign_panel(user, version):
    """What the rule page shows an administrator to assign reviewers to a version in review; None otherwise."""
    if version.status != VersionStatus.IN_REVIEW or not permissions.can_assign_reviewers(user):
        return None
    assignments = list(
        ReviewAssignment.objects.filter(version=version)
        .select_related("reviewer", "assigned_by")
        .order_by("created_at")
    )
    signed = dict(
        Review.objects.filter(version=version, decision=Review.Decision.APPROVE).values_list(
            "role", "reviewer__username"
        )
    )
    assigned = {(a.role, a.reviewer_id) for a in assignments}
    candidates = permissions.reviewer_candidates(version)
    roles = []
    for role, label in settings.PDP_REVIEW_ROLES.items():
        people = [
            {"id": person.pk, "label": _person_label(person)}
            for person in candidates.get(role, [])
            if (role, person.pk) not in assigned
        ]
        roles.append({"role": role, "label": label, "signed_by": signed.get(role, ""), "candidates": people})
    return {
        "url": reverse("version-assign", args=[version.rule.slug, version.number]),
        "version": version.label,
        "roles": roles,
        "assignments": [
            {
                "role": _role_label(a.role),
                "reviewer": _person_label(a.reviewer),
                "assigned_by": a.assigned_by.username,
                "created_at": a.created_at,
            }
            for a in assignments
        ],
    }


def _person_label(user):
    full_name = user.get_full_name()
    label = f"{user.username} ({full_name})" if full_name else user.username
    return label if user.email else f"{label}, no e-mail address"
