"""A release note on every promotion: optional, kept on the Deployment and in its audit event; rollback keeps its reason."""

import pytest

from deployments.services import promote, rollback
from engine.errors import InvalidInput
from tests.conftest import last_event
from tests.deployments.support import assert_promote_refused, live_version


def test_a_promotion_keeps_its_release_note(on_staging, release_manager):
    """The note, trimmed, is on the Deployment and in the release.promote event."""
    deployment = promote(on_staging.rule, actor=release_manager, note="  Payments start Monday.  ")
    deployment.refresh_from_db()
    assert (deployment.kind, deployment.note, deployment.reason) == ("promote", "Payments start Monday.", "")
    event = last_event("release.promote")
    assert (event.outcome, event.actor, event.data["note"], event.data["deployment"]) == (
        "done", release_manager, "Payments start Monday.", deployment.pk,
    )  # fmt: skip


def test_a_redeploy_keeps_its_release_note(rolled_back, release_manager):
    """Deploying again takes a note too, recorded on the redeploy."""
    deployment = promote(rolled_back.rule, actor=release_manager, number=1, note="Pause lifted by Congress.")
    assert (deployment.kind, deployment.note) == ("redeploy", "Pause lifted by Congress.")
    event = last_event("release.redeploy")
    assert (event.outcome, event.data["note"]) == ("done", "Pause lifted by Congress.")


def test_a_release_note_is_optional(on_staging, release_manager):
    """Without a note the Deployment's note is empty."""
    assert promote(on_staging.rule, actor=release_manager).note == ""


def test_an_overlong_release_note_is_refused(on_staging, release_manager):
    """A note over 2,000 characters is bad input; nothing moves and the refusal is recorded."""
    error = assert_promote_refused(on_staging.rule, release_manager, InvalidInput, "invalid_input", note="x" * 2001)
    assert error.message == "The release note is 2,001 characters; at most 2,000 are allowed."
    assert live_version(on_staging.rule, "production") is None


def test_rollback_keeps_its_reason_and_has_no_note(in_production, release_manager):
    """A rollback still needs its reason, which is what it records; it takes no note."""
    deployment = rollback(in_production.rule, actor=release_manager, reason="Congress requested pause")
    assert (deployment.reason, deployment.note) == ("Congress requested pause", "")
    assert "note" not in last_event("release.rollback").data
    with pytest.raises(TypeError):
        rollback(in_production.rule, actor=release_manager, reason="x", note="y")
