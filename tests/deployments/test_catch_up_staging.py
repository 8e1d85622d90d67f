from deployments.models import Deployment, Release
from deployments.services import catch_up_staging
from reviews.models import Review
from rules.models import VersionStatus
from tests.conftest import pipeline_events


def test_an_approved_version_left_off_staging_is_promoted(in_review, counsel, budget_officer):
    """An approval whose staging promotion never ran is put on staging by the system, for its last approval."""
    for person, role in ((counsel, "legal"), (budget_officer, "budget")):
        Review.objects.create(
            version=in_review, reviewer=person, role=role, decision="approve", content_hash=in_review.content_hash
        )
    in_review.status = VersionStatus.APPROVED
    in_review.save(update_fields=["status"])

    promoted = catch_up_staging()

    assert promoted == [in_review]
    staging = Release.objects.get(rule=in_review.rule, environment__name="staging")
    assert staging.version == in_review
    deployment = Deployment.objects.get(environment__name="staging")
    last_approval = Review.objects.get(version=in_review, role="budget")
    assert (deployment.actor, deployment.review) == (None, last_approval)
    event = pipeline_events().filter(action="release.promote").latest("id")
    assert (event.outcome, event.actor, event.data["to"], event.data["automatic"]) == ("done", None, "v1", True)
    assert (event.data["on_behalf_of"], event.data["review"]) == ("budget_officer", last_approval.pk)


def test_nothing_happens_when_staging_is_up_to_date(on_staging):
    """A version already promoted is left alone and no event is written."""
    before = pipeline_events().count()
    assert catch_up_staging() == []
    assert pipeline_events().count() == before


def test_a_version_rolled_back_on_staging_is_not_re_promoted(on_staging, release_manager):
    """Rolling staging back is a decision; the sweeper does not undo it."""
    from deployments.services import rollback

    rollback(on_staging.rule, actor=release_manager, reason="hold", to="v0", environment="staging")
    assert catch_up_staging() == []
    assert Release.objects.get(rule=on_staging.rule, environment__name="staging").version is None
