"""reviews/services.py approve_version: who may sign off, on what, and what the last sign-off does."""

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from guardian.models import GroupObjectPermission, UserObjectPermission

from accounts.services import assign_role
from deployments.models import Deployment
from engine.errors import InvalidInput
from pdp_portal import permissions
from pdp_portal.exceptions import InvalidTransition, ReviewRefused, StaleApproval
from reviews.models import Review
from reviews.services import approve_version
from tests.conftest import last_event, pipeline_events
from tests.deployments.support import events, live_version


def assert_refused(version, actor, error, code, **kwargs):
    """The approval is refused with `error`, recorded once as refused, and stores nothing."""
    kwargs.setdefault("expected_hash", version.content_hash)
    reviews_before, events_before = Review.objects.count(), pipeline_events().count()
    with pytest.raises(error) as info:
        approve_version(version, actor=actor, **kwargs)
    assert Review.objects.count() == reviews_before
    assert pipeline_events().count() == events_before + 1
    event = last_event("review.approve")
    assert (event.outcome, event.actor, event.target_id) == ("refused", actor, str(version.pk))
    assert (event.data["code"], event.data["reason"]) == (code, info.value.message)
    return info.value


def test_first_sign_off_is_recorded(in_review, counsel):
    """A legal sign-off is stored against the hash and simulation it was given on; the version stays in review."""
    review = approve_version(in_review, actor=counsel, expected_hash=in_review.content_hash, comment="Sound.")
    in_review.refresh_from_db()
    assert (review.version, review.reviewer, review.role, review.decision, review.comment) == (
        in_review, counsel, "legal", "approve", "Sound.",
    )  # fmt: skip
    assert review.content_hash == in_review.content_hash
    assert review.simulation_run == in_review.checks.get(kind="simulation")
    assert in_review.status == "in_review"
    assert permissions.signoff_roles(counsel, in_review) == {"legal"}  # still held until the review ends
    event = last_event("review.approve")
    assert (event.outcome, event.actor, event.target_id) == ("done", counsel, str(in_review.pk))
    assert event.data == {
        "role": "legal",
        "content_hash": in_review.content_hash,
        "complete": False,
        "review": review.pk,
    }


def test_named_role_is_used(in_review, budget_officer):
    """A reviewer may name the role they sign as."""
    review = approve_version(in_review, actor=budget_officer, expected_hash=in_review.content_hash, role="budget")
    assert review.role == "budget"
    event = last_event("review.approve")
    assert (event.outcome, event.actor, event.data["role"]) == ("done", budget_officer, "budget")


def test_a_role_given_behind_the_application_gives_no_sign_off(in_review, outsider):
    """A membership of Legal added straight in the database is not on record: the sign-off is refused,
    says why, and verify_audit names the person."""
    from django.core.management import CommandError, call_command

    outsider.groups.add(Group.objects.get(name=settings.PDP_REVIEW_ROLES["legal"]))
    error = assert_refused(in_review, outsider, ReviewRefused, "review_refused")
    assert "does not record you in the Legal group" in error.message
    with pytest.raises(CommandError, match="off the record"):
        call_command("verify_audit")


def test_drafter_cannot_approve_even_holding_the_role(in_review, drafter):
    """The drafter of a version is refused, even when also in the Legal group."""
    drafter.groups.add(Group.objects.get(name="Legal"))
    error = assert_refused(in_review, drafter, ReviewRefused, "review_refused")
    assert error.status == 403
    assert error.message == "The drafter of a version cannot review it."


def test_one_person_cannot_give_both_sign_offs(in_review, legal_and_budget):
    """Someone in both Legal and Budget gives one sign-off; the second is refused."""
    approve_version(in_review, actor=legal_and_budget, expected_hash=in_review.content_hash, role="legal")
    error = assert_refused(in_review, legal_and_budget, ReviewRefused, "review_refused", role="budget")
    assert "already gave the legal sign-off" in error.message
    assert list(Review.objects.values_list("role", flat=True)) == ["legal"]
    in_review.refresh_from_db()
    assert in_review.status == "in_review"


def test_holder_of_both_roles_must_say_which(in_review, legal_and_budget):
    """Holding both open roles without naming one is refused as ambiguous."""
    assert_refused(in_review, legal_and_budget, InvalidInput, "invalid_input")


def test_unknown_role_is_refused(in_review, counsel):
    """A role that is not a review role is refused."""
    assert_refused(in_review, counsel, InvalidInput, "invalid_input", role="admin")


def test_role_not_held_is_refused(in_review, counsel):
    """Counsel cannot sign as Budget."""
    assert_refused(in_review, counsel, ReviewRefused, "review_refused", role="budget")


def test_stale_hash_is_refused(in_review, counsel):
    """An approval for another content hash than the version's is refused with 409."""
    error = assert_refused(in_review, counsel, StaleApproval, "stale_hash", expected_hash="0" * 64)
    assert error.status == 409
    assert error.details == {"content_hash": in_review.content_hash}
    assert last_event("review.approve").data["expected_hash"] == "0" * 64


def test_missing_hash_is_refused(in_review, counsel):
    """An approval must say which content it was given on."""
    assert_refused(in_review, counsel, InvalidInput, "invalid_input", expected_hash="")


def test_superuser_without_a_group_cannot_approve(in_review, superuser):
    """Being a superuser does not make anyone an approver."""
    assert_refused(in_review, superuser, ReviewRefused, "review_refused")


def test_outsider_cannot_approve(in_review, outsider):
    """Someone without a role is refused."""
    assert_refused(in_review, outsider, ReviewRefused, "review_refused")


def test_same_role_twice_is_refused(in_review, counsel, second_counsel):
    """Once Legal has signed off, a second lawyer's approval is refused."""
    approve_version(in_review, actor=counsel, expected_hash=in_review.content_hash)
    assert_refused(in_review, second_counsel, InvalidTransition, "invalid_state")
    assert_refused(in_review, second_counsel, InvalidTransition, "invalid_state", role="legal")


def test_a_named_sign_off_counts_only_for_a_member_of_the_roles_group(in_review, outsider):
    """A sign-off given by name to someone outside the role's group is not one they can give."""
    permissions.assign_reviewer(in_review, outsider, "legal")
    assert_refused(in_review, outsider, ReviewRefused, "review_refused")
    assign_role(outsider, actor=None, group=settings.PDP_REVIEW_ROLES["legal"])
    review = approve_version(in_review, actor=outsider, expected_hash=in_review.content_hash)
    assert review.role == "legal"
    event = last_event("review.approve")
    assert (event.outcome, event.actor, event.data["role"]) == ("done", outsider, "legal")


def test_version_not_in_review_is_refused(push, drafter, counsel):
    """A version that failed its checks cannot be approved."""
    from tests.conftest import document

    failed = push(document(valid_from="2026-01-01"), actor=drafter)
    assert_refused(failed, counsel, InvalidTransition, "invalid_state")


def test_last_sign_off_approves_and_puts_it_on_staging(in_review, counsel, budget_officer):
    """The last required sign-off approves the version, revokes review permissions, and puts it live on staging."""
    approve_version(in_review, actor=counsel, expected_hash=in_review.content_hash)
    review = approve_version(in_review, actor=budget_officer, expected_hash=in_review.content_hash)
    in_review.refresh_from_db()
    assert in_review.status == "approved"
    assert not GroupObjectPermission.objects.filter(object_pk=str(in_review.pk)).exists()
    assert not UserObjectPermission.objects.filter(object_pk=str(in_review.pk)).exists()
    assert permissions.signoff_roles(counsel, in_review) == set()
    assert live_version(in_review.rule, "staging") == in_review.pk
    assert live_version(in_review.rule, "production") is None
    deployment = Deployment.objects.get()
    assert (deployment.environment.name, deployment.kind, deployment.from_version, deployment.to_version) == (
        "staging", "promote", None, in_review,
    )  # fmt: skip
    # The system promoted it, on behalf of the last sign-off: not the budget officer.
    assert (deployment.actor, deployment.review, deployment.actor_label) == (
        None, review, "System, after budget_officer's sign-off",
    )  # fmt: skip
    approve_event = last_event("review.approve")
    assert approve_event.data == {
        "role": "budget", "content_hash": in_review.content_hash, "complete": True, "review": review.pk,
    }  # fmt: skip
    promote_event = last_event("release.promote")
    assert promote_event.id > approve_event.id
    assert (promote_event.outcome, promote_event.actor, promote_event.actor_name, promote_event.target_type) == (
        "done", None, "", "deployments.release",
    )  # fmt: skip
    assert (promote_event.data["on_behalf_of"], promote_event.data["review"]) == ("budget_officer", review.pk)
    assert promote_event.data["environment"] == "staging"
    assert (promote_event.data["from"], promote_event.data["to"], promote_event.data["automatic"]) == ("v0", "v1", True)
    assert promote_event.data["deployment"] == deployment.pk


def test_approved_version_takes_no_more_sign_offs(in_review, counsel, budget_officer, second_counsel):
    """After approval, further approvals are refused as the wrong state."""
    approve_version(in_review, actor=counsel, expected_hash=in_review.content_hash)
    approve_version(in_review, actor=budget_officer, expected_hash=in_review.content_hash)
    in_review.refresh_from_db()
    assert_refused(in_review, second_counsel, InvalidTransition, "invalid_state")
    assert len(events("release.promote")) == 1
