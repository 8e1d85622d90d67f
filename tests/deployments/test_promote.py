"""deployments/services.py promote: production takes only the approved version live on staging."""

import pytest

from deployments.services import promote
from engine.errors import InvalidInput
from pdp_portal.exceptions import InvalidTransition, NotPermitted, ReleaseRefused
from tests.conftest import last_event
from tests.deployments.support import approve_both, assert_promote_refused, live_version

assert_refused = assert_promote_refused


def test_promote_puts_the_staging_version_live(on_staging, release_manager):
    """Promotion moves production to the staging version and records a Deployment with its duration, and an event."""
    rule = on_staging.rule
    deployment = promote(rule, actor=release_manager)
    assert live_version(rule, "production") == on_staging.pk
    assert live_version(rule, "staging") == on_staging.pk
    deployment.refresh_from_db()
    assert (deployment.rule, deployment.environment.name, deployment.kind) == (rule, "production", "promote")
    assert (deployment.from_version, deployment.to_version, deployment.actor, deployment.reason) == (
        None, on_staging, release_manager, "",
    )  # fmt: skip
    assert isinstance(deployment.duration_s, float) and 0 <= deployment.duration_s < 10
    event = last_event("release.promote")
    assert (event.outcome, event.actor, event.target_type, event.rule_slug) == (
        "done", release_manager, "deployments.release", rule.slug,
    )  # fmt: skip
    assert event.data == {
        "environment": "production", "from": "v0", "to": "v1", "deployment": deployment.pk,
        "duration_s": deployment.duration_s, "reason": "", "note": "",
    }  # fmt: skip


def test_promote_naming_the_staging_version(on_staging, release_manager):
    """Naming the version live on staging is allowed; `prod` is production."""
    deployment = promote(on_staging.rule, actor=release_manager, environment="prod", number=1)
    assert deployment.to_version == on_staging
    assert live_version(on_staging.rule, "production") == on_staging.pk
    assert last_event("release.promote").data["deployment"] == deployment.pk


def test_nothing_on_staging_is_refused(in_review, release_manager):
    """A version not live on staging (still in review) cannot go to production."""
    error = assert_refused(in_review.rule, release_manager, ReleaseRefused, "release_refused")
    assert error.status == 409
    assert "live on staging" in error.message


def test_a_version_new_to_production_comes_only_from_staging(in_production, push, drafter, release_manager):
    """v1 is live on both; v2, in review, was never live in production: naming it is refused."""
    from tests.conftest import document

    push(document(title="Amended"), actor=drafter)
    error = assert_refused(in_production.rule, release_manager, ReleaseRefused, "release_refused", number=2)
    assert error.message == (
        "Wildfire-Aid-2024 v2 was never live in production, which takes a new version only from staging (serving v1)."
    )


def test_a_version_the_rule_does_not_have_is_bad_input(on_staging, release_manager):
    """Naming a version the rule never had is a 400."""
    error = assert_refused(on_staging.rule, release_manager, InvalidInput, "invalid_input", number=9)
    assert error.message == "Wildfire-Aid-2024 has no v9."


def test_superseded_version_on_staging_is_refused(on_staging, push, drafter, release_manager):
    """v1 is live on staging but a newer version was pushed since: production refuses v1."""
    from tests.conftest import document

    push(document(title="Amended"), actor=drafter)
    error = assert_refused(on_staging.rule, release_manager, ReleaseRefused, "release_refused")
    assert "superseded" in error.message
    assert live_version(on_staging.rule, "staging") == on_staging.pk


def test_the_drafter_cannot_promote(push, drafting_release_manager, counsel, budget_officer):
    """A release manager who drafted the version cannot promote it."""
    version = push(actor=drafting_release_manager)
    approve_both(version, counsel=counsel, budget_officer=budget_officer)
    error = assert_refused(version.rule, drafting_release_manager, ReleaseRefused, "release_refused")
    assert "drafter" in error.message


@pytest.mark.parametrize("who", ["counsel", "budget_officer", "drafter", "outsider"])
def test_non_release_manager_is_refused(on_staging, request, who):
    """Only the release manager role may promote (403)."""
    error = assert_refused(on_staging.rule, request.getfixturevalue(who), NotPermitted, "forbidden")
    assert error.status == 403


def test_superuser_may_promote(on_staging, superuser):
    """An administrator (superuser) may promote: release is not a sign-off."""
    assert promote(on_staging.rule, actor=superuser).to_version == on_staging
    assert live_version(on_staging.rule, "production") == on_staging.pk
    event = last_event("release.promote")
    assert (event.outcome, event.actor) == ("done", superuser)


def test_already_live_is_refused(in_production, release_manager):
    """Promoting the version production already serves is refused as the wrong state."""
    assert_refused(in_production.rule, release_manager, InvalidTransition, "invalid_state")


def test_staging_is_not_promoted_by_hand(on_staging, release_manager):
    """Staging follows the last sign-off; promoting to it by hand is bad input."""
    assert_refused(on_staging.rule, release_manager, InvalidInput, "invalid_input", environment="staging")
    assert_refused(on_staging.rule, release_manager, InvalidInput, "invalid_input", environment="moon")
