import pytest

from deployments.models import Release
from deployments.services import promote_to_staging
from pdp_portal.exceptions import InvalidTransition
from reviews.models import Review
from rules.models import VersionStatus
from tests.conftest import document, last_event


def test_a_version_superseded_after_its_last_sign_off_does_not_go_to_staging(
    in_review, counsel, budget_officer, drafter, push
):
    """If a newer push lands between the last sign-off and the promotion, staging keeps what it had."""
    reviews = [
        Review.objects.create(
            version=in_review, reviewer=person, role=role, decision="approve", content_hash=in_review.content_hash
        )
        for person, role in ((counsel, "legal"), (budget_officer, "budget"))
    ]
    in_review.status = VersionStatus.APPROVED
    in_review.save(update_fields=["status"])
    push(document(title="Second draft"), actor=drafter)  # supersedes v1

    with pytest.raises(InvalidTransition, match="superseded"):
        promote_to_staging(in_review, review=reviews[-1])

    assert Release.objects.get(rule=in_review.rule, environment__name="staging").version is None
    event = last_event("release.promote")
    assert (event.outcome, event.actor, event.data["on_behalf_of"]) == ("refused", None, "budget_officer")
    assert "superseded" in event.data["reason"]
