"""POST /api/v1/rules/<slug>/promote/ refused by a governance check: a 409 with the reason and the findings."""

from tests.conftest import last_event, pipeline_events
from tests.deployments.support import live_version
from tests.deployments.test_governance_promotion import REASON, TIGHTENED

PROMOTE_API = "/api/v1/rules/wildfire-aid-2024/promote/"


def test_the_api_answers_409_with_the_reason_and_the_findings(on_staging, api, release_manager):
    """POST promote: 409 governance_refused, the reason as the message, the findings in details; nothing moves."""
    events = pipeline_events().count()
    with TIGHTENED:
        response = api(release_manager).post(PROMOTE_API, {}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["message"]) == ("governance_refused", REASON)
    assert [f["code"] for f in error["details"]["findings"]] == ["GOVERNANCE_MAX_PAYMENT"]
    assert live_version(on_staging.rule, "production") is None
    assert pipeline_events().count() == events + 1
    assert last_event("release.promote").outcome == "refused"
