"""Promote to production and Roll back from the rule page."""

import html

from django.urls import reverse

from deployments.models import Deployment, Release

PROMOTE = ">Promote to production</button>"
ROLL_BACK = ">Roll back</button>"


def _page(client, rule):
    response = client.get(reverse("rule-detail", args=[rule.slug]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _live(rule, environment):
    return Release.objects.get(rule=rule, environment__name=environment).version


def test_release_manager_sees_promote_when_staging_is_ahead(client, on_staging, release_manager):
    """With a version on staging that production does not serve, the release manager gets the Promote button."""
    client.force_login(release_manager)
    page = _page(client, on_staging.rule)
    assert PROMOTE in page
    assert ROLL_BACK in page  # staging serves a version, so it can be rolled back


def test_others_see_neither_button(client, on_staging, drafter, counsel):
    """People without the release manager role see no release buttons."""
    for person in (drafter, counsel):
        client.force_login(person)
        page = _page(client, on_staging.rule)
        assert PROMOTE not in page and ROLL_BACK not in page


def test_no_promote_button_once_production_serves_the_staging_version(client, in_production, release_manager):
    """When production already serves what staging serves, there is nothing to promote."""
    client.force_login(release_manager)
    page = _page(client, in_production.rule)
    assert PROMOTE not in page
    assert ROLL_BACK in page
    assert "v0 (withdraw" in page and '<option value="v1">' in page


def test_promote_puts_the_staging_version_live_with_its_duration(client, on_staging, release_manager):
    """Promote to production moves the pointer and the message says how long it took."""
    client.force_login(release_manager)
    response = client.post(reverse("rule-promote", args=[on_staging.rule.slug]), follow=True)
    deployment = Deployment.objects.get(environment__name="production")
    assert _live(on_staging.rule, "production") == on_staging
    page = html.unescape(response.content.decode())
    assert f"Wildfire-Aid-2024 now LIVE in production (v1), in {deployment.duration_s}s." in page


def test_promote_refusal_is_a_message(client, in_production, release_manager):
    """Promoting again is refused by the service and shown as a message; no deployment is added."""
    client.force_login(release_manager)
    before = Deployment.objects.count()
    response = client.post(reverse("rule-promote", args=[in_production.rule.slug]), follow=True)
    assert "already live in production" in html.unescape(response.content.decode())
    assert Deployment.objects.count() == before


def test_rollback_to_previous_with_its_duration_and_reason(client, in_production, release_manager):
    """Roll back to previous withdraws production (v1 → v0); the message has the duration and the reason."""
    client.force_login(release_manager)
    response = client.post(
        reverse("rule-rollback", args=[in_production.rule.slug]),
        {"environment": "production", "to": "previous", "reason": "Congress requested pause"},
        follow=True,
    )
    assert _live(in_production.rule, "production") is None
    deployment = Deployment.objects.order_by("-id").first()
    assert (deployment.kind, deployment.reason) == ("rollback", "Congress requested pause")
    page = html.unescape(response.content.decode())
    assert (
        f"Wildfire-Aid-2024 on production reverted from v1 to v0 in {deployment.duration_s}s (Congress requested pause)."
        in page
    )


def test_rollback_of_staging_to_a_named_version(client, in_production, release_manager):
    """The environment and target fields pick which pointer moves and where: staging to v0 leaves production."""
    client.force_login(release_manager)
    client.post(
        reverse("rule-rollback", args=[in_production.rule.slug]),
        {"environment": "staging", "to": "v0", "reason": "Test accounts off"},
    )
    assert _live(in_production.rule, "staging") is None
    assert _live(in_production.rule, "production") == in_production


def test_rollback_without_reason_is_refused(client, in_production, release_manager):
    """A rollback with no reason is refused with the service's message; nothing moves."""
    client.force_login(release_manager)
    before = Deployment.objects.count()
    response = client.post(
        reverse("rule-rollback", args=[in_production.rule.slug]),
        {"environment": "production", "to": "previous", "reason": ""},
        follow=True,
    )
    assert "A rollback needs a reason." in html.unescape(response.content.decode())
    assert _live(in_production.rule, "production") == in_production
    assert Deployment.objects.count() == before
