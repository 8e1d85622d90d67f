"""The Oversight role over the API: rolls back with its reason recorded; may not promote or schedule."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from deployments.models import Deployment
from tests.api.support import assert_error_body, state
from tests.conftest import last_event
from tests.deployments.support import live_version

RULE = "/api/v1/rules/wildfire-aid-2024/"


def test_an_oversight_token_rolls_back_with_its_reason(api, in_production, oversight):
    """201; the Deployment and the audit event carry the oversight account and its reason."""
    response = api(oversight).post(f"{RULE}rollback/", {"reason": "Court injunction 24-118"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["from"], body["to"], body["actor"], body["reason"]) == (
        "rollback", "v1", "v0", "oversight", "Court injunction 24-118",
    )  # fmt: skip
    assert live_version(in_production.rule, "production") is None
    deployment = Deployment.objects.get(pk=body["id"])
    assert (deployment.actor, deployment.reason) == (oversight, "Court injunction 24-118")
    event = last_event("release.rollback")
    assert (event.outcome, event.actor, event.data["reason"]) == ("done", oversight, "Court injunction 24-118")


def test_an_oversight_rollback_needs_a_reason(api, in_production, oversight):
    before = state()
    assert_error_body(api(oversight).post(f"{RULE}rollback/", {"reason": "  "}, format="json"), 400)
    assert state() == before


def test_oversight_may_not_promote_or_schedule(api, on_staging, oversight):
    """403 with a message saying which role it takes; nothing moves or is scheduled."""
    before = state()
    client = api(oversight)
    error = assert_error_body(client.post(f"{RULE}promote/", {}, format="json"), 403, "forbidden")
    assert error["message"] == "You may not promote rules; this takes the release manager role."
    at = (timezone.now() + timedelta(hours=2)).isoformat()
    error = assert_error_body(client.post(f"{RULE}schedules/", {"at": at}, format="json"), 403, "forbidden")
    assert error["message"] == "You may not schedule promotions; this takes the release manager role."
    assert state() == before
    assert client.get(RULE).status_code == 200  # and reads the rule it may pause


def test_an_administrator_grants_the_role_through_the_audited_role_service(api, in_production, outsider, superuser):
    """assign_role puts the person in Oversight with a person.roles event; from then on they may roll back."""
    from accounts.services import assign_role
    from audit.models import AuditEvent

    client = api(outsider)
    assert client.post(f"{RULE}rollback/", {"reason": "Pause"}, format="json").status_code == 404
    assign_role(outsider, actor=superuser, group=settings.PDP_OVERSIGHT_GROUP)
    event = AuditEvent.objects.filter(action="person.roles", target_id=str(outsider.pk)).latest("id")
    assert (event.actor, event.data["changed"]["groups"]["to"]) == (superuser, [settings.PDP_OVERSIGHT_GROUP])
    assert client.post(f"{RULE}rollback/", {"reason": "Pause"}, format="json").status_code == 201
