import pytest
from rest_framework.test import APIClient

from deployments.models import Deployment, Release
from deployments.services import rollback
from pdp_portal.exceptions import InvalidTransition
from tests.conftest import last_event


def production(rule):
    return Release.objects.get(rule=rule, environment__name="production").version_label


def test_a_second_rollback_from_what_was_seen_is_refused(in_production, release_manager):
    """Two 'Roll back' clicks made while v1 was live move the pointer once; the second is refused."""
    rule = in_production.rule
    rollback(rule, actor=release_manager, reason="pause", expected_from="v1")
    with pytest.raises(InvalidTransition, match="now serves v0, not the v1 you saw"):
        rollback(rule, actor=release_manager, reason="pause", expected_from="v1")
    assert production(rule) == "v0"
    assert Deployment.objects.filter(kind="rollback").count() == 1
    event = last_event("release.rollback")
    assert event.outcome == "refused" and "v1 you saw" in event.data["reason"]


def test_expected_from_matching_the_pointer_rolls_back(in_production, release_manager):
    """When the pointer is what the person saw, the rollback goes ahead."""
    deployment = rollback(in_production.rule, actor=release_manager, reason="pause", expected_from="v1")
    assert (deployment.from_label, deployment.to_label) == ("v1", "v0")


def test_the_api_answers_409_for_a_stale_view(in_production, release_manager):
    """Over the API the stale rollback is a 409 with a message to reload."""
    client = APIClient()
    client.force_authenticate(release_manager)
    url = f"/api/v1/rules/{in_production.rule.slug}/rollback/"
    body = {"to": "previous", "reason": "pause", "expected_from": "v1"}
    assert client.post(url, body, format="json").status_code == 201
    second = client.post(url, body, format="json")
    assert second.status_code == 409
    assert "reload" in second.json()["error"]["message"]


def test_the_portal_form_sends_what_the_page_showed(in_production, release_manager, client):
    """The rule page's Roll back form carries the live versions it showed, and a replay is refused."""
    client.force_login(release_manager)
    page = client.get(f"/rules/{in_production.rule.slug}/").content.decode()
    assert 'name="seen_production" value="v1"' in page
    form = {"environment": "production", "to": "previous", "reason": "pause", "seen_production": "v1"}
    client.post(f"/rules/{in_production.rule.slug}/rollback/", form)
    client.post(f"/rules/{in_production.rule.slug}/rollback/", form)
    assert production(in_production.rule) == "v0"
    assert Deployment.objects.filter(kind="rollback").count() == 1
