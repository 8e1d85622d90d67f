"""The review gate: approvals, rejections, assigned reviewers, and the roles behind them."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission, User
from django.db import transaction

from audit.services import record_event, refusals_recorded
from checks.models import CheckRun
from engine.errors import DomainError, InvalidInput
from engine.text import is_blank
from pdp_portal import permissions
from pdp_portal.celery import enqueue_on_commit
from pdp_portal.exceptions import InvalidTransition, NotPermitted, ReviewRefused, StaleApproval
from rules.models import RuleVersion, VersionStatus

from .models import Review, ReviewAssignment, ReviewComment

# Global permissions each non-review group carries.
GROUP_PERMISSIONS = {
    settings.PDP_DRAFTER_GROUP: ["rules.add_ruleversion"],
    settings.PDP_RELEASE_GROUP: [
        "deployments.promote_release",
        "deployments.rollback_release",
        "deployments.view_release",
        "deployments.view_scheduledpromotion",
    ],
    settings.PDP_SYSTEMS_GROUP: ["deployments.view_release"],
    settings.PDP_OVERSIGHT_GROUP: ["deployments.rollback_release", "deployments.view_release"],
}


def ensure_groups() -> None:
    """Create the role groups and give them their global permissions (idempotent)."""
    for group_name in [*GROUP_PERMISSIONS, *settings.PDP_REVIEW_ROLES.values()]:
        group, _ = Group.objects.get_or_create(name=group_name)
        for label in GROUP_PERMISSIONS.get(group_name, []):
            app_label, codename = label.split(".")
            perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if perm is not None:
                group.permissions.add(perm)


def _locked_in_review(version: RuleVersion, *, actor: User, expected_hash: str) -> RuleVersion:
    version = RuleVersion.objects.select_for_update(of=("self",)).select_related("rule").get(pk=version.pk)
    if version.status != VersionStatus.IN_REVIEW:
        raise InvalidTransition(f"{version} is {version.get_status_display()}, not in review.")
    if not expected_hash:
        raise InvalidInput("Say which content you reviewed: the expected content hash is required.")
    if expected_hash != version.content_hash:
        raise StaleApproval(
            f"{version} has content hash {version.content_hash[:12]}…, not the {expected_hash[:12]}… you reviewed. "
            "Reload the rule and review what is there now.",
            details={"content_hash": version.content_hash},
        )
    if version.uploaded_by_id == actor.pk:
        raise ReviewRefused("The drafter of a version cannot review it.")
    return version


def _pick_role(version: RuleVersion, *, actor: User, role: str | None) -> tuple[str, set[str]]:
    """The role this sign-off is given in: one this person may sign as now (permissions.approvable_roles)."""
    if role is not None and role not in settings.PDP_REVIEW_ROLES:
        raise InvalidInput(f"Unknown review role {role!r}; the roles are {', '.join(settings.PDP_REVIEW_ROLES)}.")
    may = permissions.approvable_roles(actor, version)
    if role is None and len(may) > 1:
        raise InvalidInput(f"You hold several sign-offs ({', '.join(sorted(may))}); say which role you sign as.")
    chosen = role if role is not None else next(iter(may), None)
    filled = set(version.reviews.filter(decision=Review.Decision.APPROVE).values_list("role", flat=True))
    if chosen in may:
        if not permissions.role_on_record(actor, chosen):
            raise ReviewRefused(
                f"The audit history does not record you in the {settings.PDP_REVIEW_ROLES[chosen]} group; "
                "an administrator must grant the role in the portal's admin before you can sign off."
            )
        return chosen, filled
    raise _why_not_signable(version, actor=actor, role=role, filled=filled)


def _why_not_signable(version: RuleVersion, *, actor: User, role: str | None, filled: set[str]) -> DomainError:
    """The refusal that says why this person may not sign `version` (as `role`, when given)."""
    mine = version.reviews.filter(decision=Review.Decision.APPROVE, reviewer=actor).first()
    if mine is not None:
        return ReviewRefused(
            f"You already gave the {mine.role} sign-off on {version}; the other sign-off must come from someone else."
        )
    held = permissions.signoff_roles(actor, version)
    if role is not None:
        if role in filled:
            return InvalidTransition(f"{version} already has its {role} sign-off.")
        return ReviewRefused(f"You do not hold the {role} sign-off on {version}.")
    if held:
        return InvalidTransition(f"{version} already has the {' and '.join(sorted(held))} sign-off you could give.")
    return ReviewRefused(f"You do not hold a sign-off on {version}.")


def _simulation_of(version: RuleVersion) -> CheckRun | None:
    return version.checks.filter(kind=CheckRun.Kind.SIMULATION, status=CheckRun.Status.PASSED).first()


def approve_version(
    version: RuleVersion, *, actor: User, expected_hash: str, role: str | None = None, comment: str = ""
) -> Review:
    """Record one sign-off on a version in review; the last required one approves it and puts it on staging."""
    data = {"role": role, "expected_hash": expected_hash}
    with refusals_recorded("review.approve", actor=actor, target=version, data=data):
        with transaction.atomic():
            version = _locked_in_review(version, actor=actor, expected_hash=expected_hash)
            role, filled = _pick_role(version, actor=actor, role=role)
            review = Review.objects.create(
                version=version,
                reviewer=actor,
                role=role,
                decision=Review.Decision.APPROVE,
                comment=comment,
                content_hash=version.content_hash,
                simulation_run=_simulation_of(version),
            )
            complete = (filled | {role}) >= set(settings.PDP_REVIEW_ROLES)
            if complete:
                version.move_to(VersionStatus.APPROVED)
                permissions.revoke_review_permissions(version)
            record_event(
                "review.approve",
                actor=actor,
                target=version,
                data={"role": role, "content_hash": version.content_hash, "complete": complete, "review": review.pk},
            )
    if complete:
        from deployments.services import promote_to_staging

        try:
            promote_to_staging(version, review=review)
        except DomainError:
            pass  # the approval stands; the refusal is in the audit history and the version's status says why
        # After the promotion, so the drafter is told whether the version reached staging.
        enqueue_on_commit("reviews.tasks.send_review_ended", version.pk)
    return review


def reject_version(
    version: RuleVersion, *, actor: User, expected_hash: str, comment: str, role: str | None = None
) -> Review:
    """Reject a version in review. One rejection ends its review; a new version must be pushed."""
    data = {"role": role, "expected_hash": expected_hash}
    with refusals_recorded("review.reject", actor=actor, target=version, data=data):
        if is_blank(comment):
            raise InvalidInput.at("comment", "A rejection needs a comment saying why.")
        with transaction.atomic():
            version = _locked_in_review(version, actor=actor, expected_hash=expected_hash)
            role, _ = _pick_role(version, actor=actor, role=role)
            review = Review.objects.create(
                version=version,
                reviewer=actor,
                role=role,
                decision=Review.Decision.REJECT,
                comment=comment.strip(),
                content_hash=version.content_hash,
                simulation_run=_simulation_of(version),
            )
            version.move_to(VersionStatus.REJECTED)
            permissions.revoke_review_permissions(version)
            record_event(
                "review.reject",
                actor=actor,
                target=version,
                data={
                    "role": role,
                    "content_hash": version.content_hash,
                    "comment": review.comment,
                    "review": review.pk,
                },
            )
        enqueue_on_commit("reviews.tasks.send_review_ended", version.pk)
    return review


COMMENT_MAX = 5000


def comment_on_version(version: RuleVersion, *, actor: User, body: str) -> ReviewComment:
    """Add a comment to a version, in any status, without deciding anything about it."""
    text = (body or "").strip()
    with refusals_recorded("review.comment", actor=actor, target=version, data={"length": len(text)}):
        if not permissions.can_comment(actor):
            raise NotPermitted("You may not comment on rules; your account has no role in the portal yet.")
        if is_blank(text):
            raise InvalidInput.at("body", "Write the comment first: it is empty.")
        if len(text) > COMMENT_MAX:
            raise InvalidInput.at(
                "body", f"The comment is {len(text):,} characters; at most {COMMENT_MAX:,} are allowed."
            )
        with transaction.atomic():
            comment = ReviewComment.objects.create(version=version, author=actor, body=text)
            record_event(
                "review.comment",
                actor=actor,
                target=version,
                data={"comment": comment.pk, "number": version.number, "body": text},
            )
    return comment


def _check_reviewer(version: RuleVersion, *, reviewer: User, role: str, group_name: str) -> None:
    """Refuse a reviewer who cannot give `role`'s sign-off on this version, or was already asked to."""
    if not reviewer.is_active:
        raise InvalidInput.at("reviewer", f"{reviewer.username} has no active account; assign someone who can sign in.")
    if reviewer.pk == version.uploaded_by_id:
        raise InvalidInput.at(
            "reviewer", f"{reviewer.username} drafted {version}; the drafter of a version cannot review it."
        )
    if not permissions.holds_review_group(reviewer, role):
        raise InvalidInput.at(
            "reviewer", f"{reviewer.username} is not in the {group_name} group, so cannot give its sign-off."
        )
    if ReviewAssignment.objects.filter(version=version, reviewer=reviewer, role=role).exists():
        raise InvalidTransition(f"{reviewer.username} is already assigned as {group_name} reviewer of {version}.")
    approvals = {r.role: r for r in version.reviews.filter(decision=Review.Decision.APPROVE).select_related("reviewer")}
    if role in approvals:
        raise InvalidTransition(
            f"{version} already has its {group_name} sign-off, from {approvals[role].reviewer.username}."
        )
    given = [r for r in approvals.values() if r.reviewer_id == reviewer.pk]
    if given:
        raise InvalidInput(
            f"{reviewer.username} already gave the {given[0].role} sign-off on {version}; "
            "the other sign-off must come from someone else."
        )


def assign_reviewer(version: RuleVersion, *, actor: User, reviewer: User | None, role: str) -> ReviewAssignment:
    """Ask a named member of the role's group to review a version in review: they hold its sign-off and get an e-mail."""
    data = {"role": role, "reviewer": getattr(reviewer, "username", "")}
    with refusals_recorded("review.assign", actor=actor, target=version, data=data):
        if not permissions.can_assign_reviewers(actor):
            raise NotPermitted("Only administrators (release managers) may assign reviewers.")
        if role not in settings.PDP_REVIEW_ROLES:
            raise InvalidInput(f"Unknown review role {role!r}; the roles are {', '.join(settings.PDP_REVIEW_ROLES)}.")
        if reviewer is None or reviewer.pk is None:
            raise InvalidInput("Choose the person to assign.")
        group_name = settings.PDP_REVIEW_ROLES[role]
        with transaction.atomic():
            version = RuleVersion.objects.select_for_update(of=("self",)).select_related("rule").get(pk=version.pk)
            if version.status != VersionStatus.IN_REVIEW:
                raise InvalidTransition(
                    f"{version} is {version.get_status_display()}, not in review; reviewers are assigned only during review."
                )
            reviewer = get_user_model().objects.filter(pk=reviewer.pk).first()  # as it is now, not as the form saw it
            if reviewer is None:
                raise InvalidInput("That person no longer exists; choose another.")
            _check_reviewer(version, reviewer=reviewer, role=role, group_name=group_name)
            permissions.assign_reviewer(version, reviewer, role)
            assignment = ReviewAssignment.objects.create(
                version=version, reviewer=reviewer, role=role, assigned_by=actor
            )
            emailed = bool(reviewer.email)
            record_event(
                "review.assign",
                actor=actor,
                target=version,
                data={"role": role, "reviewer": reviewer.username, "emailed": emailed, "assignment": assignment.pk},
            )
            if emailed:
                enqueue_on_commit("reviews.tasks.send_review_requested", assignment.pk)
    return assignment
