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
from pdp_portal import permissions
from portal.forms import submit
from portal.pages import rule_url
from portal.presenters.changes import plain_changes
from rules.models import RuleVersion, VersionStatus

from .forms import AssignReviewerForm, CommentForm, RejectForm, ReviewForm
from .models import Review, ReviewAssignment, ReviewComment
from .services import approve_version, assign_reviewer, comment_on_version, reject_version

# The comment box's id: "comment-body".
COMMENT_ID = "comment-%s"


def review_form_id(kind, role):
    """The id pattern of one of a person's review forms on the rule page: "reject-comment-legal"."""
    return f"{kind}-%s-{role}"


def _role_label(role):
    return settings.PDP_REVIEW_ROLES.get(role, role)


def _version(request, slug, number):
    rule = permissions.get_rule_for_user(request.user, slug)
    return get_object_or_404(RuleVersion.objects.select_related("rule"), rule=rule, number=number)


def _refused(request, version, key, form, status):
    from rules.views import form_refused_on_page  # the rule page shows this module's panels

    return form_refused_on_page(request, version.rule, version.number, key, form, status)


def _review(request, slug, number, service, form_class, kind):
    """Parse the form, call the service for this person's version: (version, review or None, response)."""
    version = _version(request, slug, number)
    role = request.POST.get("role", "")
    form = form_class(request.POST, auto_id=review_form_id(kind, role))

    def call(args):
        return service(
            version,
            actor=request.user,
            expected_hash=args["expected_hash"],
            role=args["role"] or None,
            comment=args["comment"],
        )

    review, status = submit(form, call)
    if review is None:
        return version, None, _refused(request, version, f"{kind}-{role}", form, status)
    return version, review, redirect(rule_url(version.rule, number))


@login_required
@require_POST
def approve(request, slug, number):
    version, review, response = _review(request, slug, number, approve_version, ReviewForm, "approve")
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
    version, review, response = _review(request, slug, number, reject_version, RejectForm, "reject")
    if review is not None:
        messages.success(request, f"{version} rejected ({_role_label(review.role)}): {review.comment}")
    return response


@login_required
@require_POST
def assign(request, slug, number):
    version = _version(request, slug, number)
    if not permissions.can_assign_reviewers(request.user):
        # Before reading the form, whose answers would otherwise tell who exists.
        raise PermissionDenied("Only administrators (release managers) may assign reviewers.")
    role = request.POST.get("role", "")
    form = AssignReviewerForm(request.POST, auto_id=review_form_id("assign", role))

    def call(args):
        return assign_reviewer(version, actor=request.user, reviewer=args["reviewer"], role=args["role"])

    assignment, status = submit(form, call)
    if assignment is None:
        return _refused(request, version, f"assign-{role}", form, status)
    reviewer = assignment.reviewer
    told = "they were sent an e-mail" if reviewer.email else "they have no e-mail address, so tell them yourself"
    messages.success(
        request, f"{reviewer.username} is assigned as {_role_label(assignment.role)} reviewer of {version}; {told}."
    )
    return redirect(rule_url(version.rule, number))


@login_required
@require_POST
def comment(request, slug, number):
    version = _version(request, slug, number)
    form = CommentForm(request.POST, auto_id=COMMENT_ID)
    posted, status = submit(form, lambda args: comment_on_version(version, actor=request.user, body=args["body"]))
    if posted is None:
        return _refused(request, version, "comment", form, status)
    messages.success(request, f"Your comment on {version} is posted.")
    return redirect(rule_url(version.rule, number) + "#conversation-heading")


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


def conversation_panel(user, version, shown=None):
    """The version's conversation (decisions and comments), and the review of the rejected version before it.

    `shown`: forms refused a moment ago, by key; the comment form, if among them, is taken from it.
    """
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
        "form": (shown or {}).pop("comment", None) or CommentForm(auto_id=COMMENT_ID),
    }


def assign_panel(user, version, shown=None):
    """What the rule page shows an administrator to assign reviewers to a version in review; None otherwise.

    `shown`: forms refused a moment ago, by key; an assign form among them is taken from it.
    """
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
        form = None
        if people:  # a form refused a moment ago is taken only where the page shows it again
            form = (shown or {}).pop(f"assign-{role}", None) or AssignReviewerForm(
                auto_id=review_form_id("assign", role)
            )
            form.fields["reviewer"].choices = [("", "- Select -"), *((p["id"], p["label"]) for p in people)]
        roles.append(
            {"role": role, "label": label, "signed_by": signed.get(role, ""), "candidates": people, "form": form}
        )
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
