"""deployments/services.py promote of a version live there before: the way back after a rollback (a redeploy)."""

import pytest

from deployments.models import Deployment
from deployments.services import promote, rollback
from pdp_portal.exceptions import InvalidTransition, NotPermitted, ReleaseRefused
from reviews.models import Review
from tests.conftest import document, last_event
from tests.deployments.support import approve_both, assert_promote_refused, live_version


def assert_redeployed(deployment, *, actor, environment, from_version, to_version):
    """The pointer moved, one Deployment of kind redeploy says so, and one release.redeploy event records it."""
    rule = to_version.rule
    assert live_version(rule, environment) == to_version.pk
    deployment.refresh_from_db()
    assert (deployment.kind, deployment.environment.name, deployment.actor) == ("redeploy", environment, actor)
    assert (deployment.from_version, deployment.to_version) == (from_version, to_version)
    event = last_event()
    assert (event.action, event.outcome, event.actor, event.target_type, event.rule_slug) == (
        "release.redeploy", "done", actor, "deployments.release", rule.slug,
    )  # fmt: skip
    assert event.data == {
        "environment": environment,
        "from": f"v{from_version.number}" if from_version else "v0",
        "to": to_version.label,
        "deployment": deployment.pk,
        "duration_s": deployment.duration_s,
        "reason": "",
        "note": deployment.note,
    }


def test_a_rolled_back_version_is_deployed_again_to_production(in_production, release_manager):
    """Staging v1, production rolled back to v0: production takes v1 again, recorded as a redeploy."""
    rule = in_production.rule
    rollback(rule, actor=release_manager, reason="Congress requested pause")
    deployment = promote(rule, actor=release_manager, number=1)
    assert_redeployed(
        deployment, actor=release_manager, environment="production", from_version=None, to_version=in_production
    )
    assert live_version(rule, "staging") == in_production.pk


def test_promote_of_the_staging_version_production_served_before_is_a_redeploy(in_production, release_manager):
    """Without a number, the version on staging goes back to production; the history says it is a redeploy."""
    rollback(in_production.rule, actor=release_manager, reason="pause")
    deployment = promote(in_production.rule, actor=release_manager)
    assert deployment.kind == Deployment.Kind.REDEPLOY
    assert live_version(in_production.rule, "production") == in_production.pk


def test_a_superseded_version_live_before_is_deployed_again_without_staging(
    with_v2_live, push, drafter, release_manager
):
    """v2 was live in production, then superseded by v3 and rolled back from: production takes it again, staging untouched."""
    v1, v2 = with_v2_live
    push(document(title="A third text"), actor=drafter)
    rollback(v1.rule, actor=release_manager, reason="Bug in v2", to="v1")
    rollback(v1.rule, actor=release_manager, reason="Test accounts on v1", to="v1", environment="staging")
    v2.refresh_from_db()
    assert v2.status == "superseded"
    deployment = promote(v1.rule, actor=release_manager, number=2)
    assert_redeployed(deployment, actor=release_manager, environment="production", from_version=v1, to_version=v2)
    assert live_version(v1.rule, "staging") == v1.pk  # a redeploy does not go through staging


def test_staging_takes_again_a_version_it_served(on_staging, release_manager):
    """Staging rolled back to v0 takes v1 again when it is named."""
    rollback(on_staging.rule, actor=release_manager, reason="pull it", environment="staging")
    deployment = promote(on_staging.rule, actor=release_manager, environment="staging", number=1)
    assert_redeployed(
        deployment, actor=release_manager, environment="staging", from_version=None, to_version=on_staging
    )
    assert live_version(on_staging.rule, "production") is None


def test_previous_after_a_redeploy_is_where_it_came_from(with_v2_live, release_manager):
    """v1, v2, withdrawn (v0), v2 again: rolling back to `previous` goes to v0, the version live before the redeploy."""
    v1, v2 = with_v2_live
    rollback(v1.rule, actor=release_manager, reason="withdraw", to="v0")
    promote(v1.rule, actor=release_manager, number=2)
    deployment = rollback(v1.rule, actor=release_manager, reason="again")
    assert (deployment.from_version, deployment.to_version) == (v2, None)


def test_a_version_never_live_on_staging_is_refused_there(in_production, push, drafter, release_manager):
    """v2, in review, never reached staging: it cannot be put there by hand."""
    push(document(title="Amended"), actor=drafter)
    error = assert_promote_refused(
        in_production.rule, release_manager, ReleaseRefused, "release_refused", environment="staging", number=2
    )
    assert error.message == (
        "Wildfire-Aid-2024 v2 was never live on staging; staging takes a version after its last sign-off."
    )


def test_the_version_already_live_is_a_no_op_refused(in_production, release_manager):
    """Deploying again what production serves is refused as the wrong state (409)."""
    error = assert_promote_refused(in_production.rule, release_manager, InvalidTransition, "invalid_state", number=1)
    assert error.message == "Wildfire-Aid-2024 v1 is already live in production."


def test_the_drafter_cannot_deploy_it_again_to_production(
    push, drafting_release_manager, counsel, budget_officer, release_manager
):
    """A release manager who drafted v1 may not put it back in production, but may put it back on staging."""
    version = push(actor=drafting_release_manager)
    approve_both(version, counsel=counsel, budget_officer=budget_officer)
    rule = version.rule
    promote(rule, actor=release_manager)
    rollback(rule, actor=release_manager, reason="pause")
    rollback(rule, actor=release_manager, reason="pause", environment="staging")
    error = assert_promote_refused(rule, drafting_release_manager, ReleaseRefused, "release_refused", number=1)
    assert error.message == "The drafter of Wildfire-Aid-2024 v1 cannot promote it to production."
    deployment = promote(rule, actor=drafting_release_manager, environment="staging", number=1)
    assert_redeployed(
        deployment, actor=drafting_release_manager, environment="staging", from_version=None, to_version=version
    )


def test_a_version_whose_sign_offs_do_not_hold_on_its_hash_is_refused(in_production, release_manager):
    """A sign-off that is not on the version's content hash does not count: production never takes it."""
    rule = in_production.rule
    rollback(rule, actor=release_manager, reason="pause")
    # No service ever does this; it stands for a sign-off given on other content.
    Review.objects.filter(version=in_production, role="budget").update(content_hash="0" * 64)
    error = assert_promote_refused(rule, release_manager, ReleaseRefused, "release_refused", number=1)
    assert error.message == "Wildfire-Aid-2024 v1 does not have every required sign-off on its content."


@pytest.mark.parametrize("who", ["counsel", "budget_officer", "drafter", "outsider"])
def test_only_release_managers_deploy_again(in_production, release_manager, request, who):
    """Deploying again takes the release manager role (403)."""
    rollback(in_production.rule, actor=release_manager, reason="pause")
    person = request.getfixturevalue(who)
    error = assert_promote_refused(in_production.rule, person, NotPermitted, "forbidden", number=1)
    assert error.status == 403
