"""POST /api/v1/rules/<slug>/promote/ with a version: the way back after a rollback, over the API."""

from tests.api.support import assert_error_body, state
from tests.deployments.support import live_version

PROMOTE = "/api/v1/rules/wildfire-aid-2024/promote/"


def test_a_rolled_back_version_is_deployed_again(api, rolled_back, release_manager):
    """Production rolled back to v0 takes v1 again: 201 with the redeploy, and the pointer moved."""
    response = api(release_manager).post(PROMOTE, {"version": 1}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["environment"], body["from"], body["to"], body["actor"]) == (
        "redeploy", "production", "v0", "v1", "release_manager",
    )  # fmt: skip
    assert live_version(rolled_back.rule, "production") == rolled_back.pk


def test_deploying_again_what_is_live_is_a_409(api, in_production, release_manager):
    """The version production serves cannot be deployed again: 409 invalid_state, nothing changes."""
    before = state()
    response = api(release_manager).post(PROMOTE, {"version": 1}, format="json")
    error = assert_error_body(response, 409, "invalid_state")
    assert error["message"] == "Wildfire-Aid-2024 v1 is already live in production."
    assert state() == before


def test_staging_needs_the_version_named(api, on_staging, release_manager):
    """Staging takes a version by hand only when it is named (one it served before): 400 otherwise."""
    response = api(release_manager).post(PROMOTE, {"environment": "staging"}, format="json")
    assert_error_body(response, 400, "invalid_input")


def test_a_promotion_takes_a_release_note(api, on_staging, release_manager):
    """The note is kept and answered back, with who promoted."""
    response = api(release_manager).post(PROMOTE, {"note": "Payments start Monday."}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["note"], body["actor"], body["by"]) == (
        "promote", "Payments start Monday.", "release_manager", "release_manager",
    )  # fmt: skip
