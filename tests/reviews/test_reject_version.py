"""reviews/services.py reject_version: one rejection ends the review."""

import pytest
from guardian.models import GroupObjectPermission

from engine.errors import InvalidInput
from pdp_portal.exceptions import InvalidTransition, ReviewRefused, StaleApproval
from reviews.models import Review
from reviews.services import approve_version, reject_version
from tests.conftest import last_event, pipeline_events
from tests.deployments.support import live_version


def test_rejection_ends_the_review(in_review, budget_officer):
    """A rejection with a comment rejects the version, stores the review and revokes the permissions."""
    review = reject_version(
        in_review, actor=budget_officer, expected_hash=in_review.content_hash, comment="  Too costly.  "
    )
    in_review.refresh_from_db()
    assert in_review.status == "rejected"
    assert (review.role, review.decision, review.comment, review.content_hash) == (
        "budget", "reject", "Too costly.", in_review.content_hash,
    )  # fmt: skip
    assert not GroupObjectPermission.objects.filter(object_pk=str(in_review.pk)).exists()
    assert live_version(in_review.rule, "staging") is None
    event = last_event("review.reject")
    assert (event.outcome, event.actor, event.target_id) == ("done", budget_officer, str(in_review.pk))
    assert event.data == {
        "role": "budget",
        "content_hash": in_review.content_hash,
        "comment": "Too costly.",
        "review": review.pk,
    }


def test_rejection_after_one_approval_still_ends_it(in_review, counsel, budget_officer):
    """Budget rejecting after Legal approved ends the review."""
    approve_version(in_review, actor=counsel, expected_hash=in_review.content_hash)
    reject_version(in_review, actor=budget_officer, expected_hash=in_review.content_hash, comment="No.")
    in_review.refresh_from_db()
    assert in_review.status == "rejected"
    event = last_event("review.reject")
    assert (event.outcome, event.actor, event.data["role"], event.data["comment"]) == (
        "done",
        budget_officer,
        "budget",
        "No.",
    )


def test_further_approvals_are_refused_after_rejection(in_review, counsel, budget_officer):
    """Once rejected, an approval is refused (wrong state) and recorded."""
    reject_version(in_review, actor=counsel, expected_hash=in_review.content_hash, comment="Unlawful.")
    with pytest.raises(InvalidTransition):
        approve_version(in_review, actor=budget_officer, expected_hash=in_review.content_hash)
    assert Review.objects.count() == 1
    event = last_event("review.approve")
    assert (event.outcome, event.actor, event.data["code"]) == ("refused", budget_officer, "invalid_state")
    in_review.refresh_from_db()
    assert in_review.status == "rejected"


@pytest.mark.parametrize("comment", ["", "   \n", None])
def test_rejection_without_comment_is_refused(in_review, counsel, comment):
    """A rejection must say why; without a comment it is refused, recorded, and changes nothing."""
    before = pipeline_events().count()
    with pytest.raises(InvalidInput) as info:
        reject_version(in_review, actor=counsel, expected_hash=in_review.content_hash, comment=comment)
    assert info.value.status == 400
    in_review.refresh_from_db()
    assert in_review.status == "in_review"
    assert not Review.objects.exists()
    assert pipeline_events().count() == before + 1
    event = last_event("review.reject")
    assert (event.outcome, event.actor, event.data["reason"]) == (
        "refused",
        counsel,
        "A rejection needs a comment saying why.",
    )


@pytest.mark.parametrize(
    ("who", "expected_hash", "error"),
    [
        ("drafter", None, ReviewRefused),
        ("outsider", None, ReviewRefused),
        ("superuser", None, ReviewRefused),
        ("counsel", "f" * 64, StaleApproval),
    ],
)
def test_who_may_not_reject(in_review, request, who, expected_hash, error):
    """The drafter, people without a sign-off, and a stale hash cannot reject."""
    actor = request.getfixturevalue(who)
    with pytest.raises(error):
        reject_version(in_review, actor=actor, expected_hash=expected_hash or in_review.content_hash, comment="No.")
    in_review.refresh_from_db()
    assert in_review.status == "in_review"
    assert not Review.objects.exists()
    assert last_event("review.reject").outcome == "refused"
