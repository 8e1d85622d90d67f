"""deployments/services.py rollback: back to a version live there before, or to none, with a reason."""

import pytest

from audit.models import AuditEvent
from deployments.services import rollback
from engine.errors import InvalidInput
from pdp_portal.exceptions import InvalidTransition, NotPermitted, ReleaseRefused
from tests.conftest import last_event
from tests.deployments.support import assert_release_refused, live_version


def assert_refused(rule, actor, error, code, **kwargs):
    """Rollback is refused with `error`, recorded once, and nothing moves."""
    return assert_release_refused(rollback, rule, actor, error, code, **kwargs)


def test_rollback_to_previous_withdraws_a_first_version(in_production, release_manager):
    """Rolling back v1, the first version live, goes to v0, recorded with its reason."""
    rule = in_production.rule
    deployment = rollback(rule, actor=release_manager, reason="  Congress requested pause ")
    assert live_version(rule, "production") is None
    assert live_version(rule, "staging") == in_production.pk  # another environment is untouched
    assert (deployment.kind, deployment.environment.name, deployment.from_version, deployment.to_version) == (
        "rollback", "production", in_production, None,
    )  # fmt: skip
    assert (deployment.reason, deployment.actor) == ("Congress requested pause", release_manager)
    assert deployment.duration_s >= 0
    event = last_event("release.rollback")
    assert (event.outcome, event.actor, event.target_type) == ("done", release_manager, "deployments.release")
    assert event.data == {
        "environment": "production", "from": "v1", "to": "v0", "deployment": deployment.pk,
        "duration_s": deployment.duration_s, "reason": "Congress requested pause",
    }  # fmt: skip


def test_rollback_to_previous_goes_back_one_version(with_v2_live, release_manager):
    """With v2 live after v1, `previous` goes back to v1."""
    v1, v2 = with_v2_live
    deployment = rollback(v1.rule, actor=release_manager, reason="Bug in v2")
    assert live_version(v1.rule, "production") == v1.pk
    assert (deployment.from_version, deployment.to_version) == (v2, v1)
    event = last_event("release.rollback")
    assert (event.outcome, event.data["from"], event.data["to"], event.data["reason"]) == (
        "done",
        "v2",
        "v1",
        "Bug in v2",
    )


def test_rollback_to_a_named_version_and_forward_again(with_v2_live, release_manager):
    """`v1`, then `2`, then `v0`: any version live there before, or none."""
    v1, v2 = with_v2_live
    rule = v1.rule
    assert rollback(rule, actor=release_manager, reason="r1", to="v1").to_version == v1
    assert rollback(rule, actor=release_manager, reason="r2", to="2").to_version == v2
    assert rollback(rule, actor=release_manager, reason="r3", to="V0").to_version is None
    assert live_version(rule, "production") is None
    assert [e.data["to"] for e in AuditEvent.objects.filter(action="release.rollback", outcome="done")] == [
        "v1",
        "v2",
        "v0",
    ]


def test_previous_after_a_rollback(with_v2_live, release_manager):
    """After rolling back to v1, `previous` goes to what came before v1 (v0)."""
    v1, _ = with_v2_live
    rollback(v1.rule, actor=release_manager, reason="first")
    deployment = rollback(v1.rule, actor=release_manager, reason="second")
    assert (deployment.from_version, deployment.to_version) == (v1, None)
    assert live_version(v1.rule, "production") is None
    assert last_event("release.rollback").data["to"] == "v0"


def test_rollback_on_staging(on_staging, release_manager):
    """Staging can be rolled back too."""
    rollback(on_staging.rule, actor=release_manager, reason="pull it", environment="staging")
    assert live_version(on_staging.rule, "staging") is None
    event = last_event("release.rollback")
    assert (event.outcome, event.data["environment"], event.data["from"], event.data["to"]) == (
        "done",
        "staging",
        "v1",
        "v0",
    )


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_rollback_needs_a_reason(in_production, release_manager, reason):
    """A rollback without a reason is refused (400)."""
    error = assert_refused(in_production.rule, release_manager, InvalidInput, "invalid_input", reason=reason)
    assert error.message == "A rollback needs a reason."


def test_version_never_live_there_is_refused(on_staging, release_manager):
    """v1 was live on staging only: rolling production back to it is refused."""
    error = assert_refused(on_staging.rule, release_manager, ReleaseRefused, "release_refused", reason="r", to="v1")
    assert "never live on production" in error.message


def test_version_in_review_is_never_a_rollback_target(in_production, push, drafter, release_manager):
    """A newer version that was never live anywhere cannot be rolled back to."""
    from tests.conftest import document

    push(document(title="Amended"), actor=drafter)
    assert_refused(in_production.rule, release_manager, ReleaseRefused, "release_refused", reason="r", to="v2")
    assert_refused(
        in_production.rule,
        release_manager,
        ReleaseRefused,
        "release_refused",
        reason="r",
        to="v2",
        environment="staging",
    )


def test_unknown_version_and_bad_target_are_refused(in_production, release_manager):
    """A version that does not exist, or a target that is not previous/vN, is bad input."""
    assert (
        "has no v9"
        in assert_refused(
            in_production.rule, release_manager, InvalidInput, "invalid_input", reason="r", to="v9"
        ).message
    )
    assert_refused(in_production.rule, release_manager, InvalidInput, "invalid_input", reason="r", to="latest")
    assert_refused(in_production.rule, release_manager, InvalidInput, "invalid_input", reason="r", to="v-1")


def test_rollback_to_what_is_live_is_refused(in_production, release_manager):
    """Rolling back to the version already served is refused as the wrong state."""
    assert_refused(in_production.rule, release_manager, InvalidTransition, "invalid_state", reason="r", to="v1")


def test_nothing_live_has_no_previous(on_staging, release_manager):
    """With nothing live in production there is nothing to roll back."""
    error = assert_refused(on_staging.rule, release_manager, ReleaseRefused, "release_refused", reason="r")
    assert "nothing to roll back" in error.message


@pytest.mark.parametrize("who", ["drafter", "counsel", "budget_officer", "outsider"])
def test_non_release_manager_is_refused(in_production, request, who):
    """Only the release manager role may roll back (403)."""
    assert_refused(in_production.rule, request.getfixturevalue(who), NotPermitted, "forbidden", reason="r")


def test_status_shows_the_old_version_live_after_rollback(with_v2_live, release_manager, client):
    """After a rollback, GET /api/v1/rules/<slug>/ shows the old version live in production."""
    v1, v2 = with_v2_live
    client.force_login(release_manager)
    before = client.get(f"/api/v1/rules/{v1.rule.slug}/").json()
    assert before["releases"]["production"]["version"] == 2
    rollback(v1.rule, actor=release_manager, reason="Congress requested pause")
    body = client.get(f"/api/v1/rules/{v1.rule.slug}/").json()
    assert body["releases"]["production"]["version"] == 1
    assert body["releases"]["production"]["label"] == "v1"
    assert body["releases"]["production"]["content_hash"] == v1.content_hash
    assert body["releases"]["staging"]["version"] == 2
