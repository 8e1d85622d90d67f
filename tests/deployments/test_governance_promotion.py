"""Governance checks again at every promotion, with the settings in force then.

The wildfire example passes lint under the defaults (its maximum payment is $5,000); the operator
then sets a statutory maximum of $4,000, and every way of putting it live is refused with the
reason, in the service, the audit history and the portal (the API: tests/api/test_governance_refusal.py,
hms: tests/hms/test_governance_refusal.py). A rollback still works.
"""

import html

from django.test import override_settings
from django.urls import reverse

from deployments.models import Deployment
from deployments.services import promote, rollback
from pdp_portal.exceptions import GovernanceRefused
from tests.conftest import last_event, pipeline_events
from tests.deployments.support import approve_both, assert_promote_refused, live_version

TIGHTENED = override_settings(PDP_GOVERNANCE_MAX_PAYMENT=4000)
REASON = (
    "Wildfire-Aid-2024 v1 fails the governance checks in force now, so it may not go live: "
    "The rule's maximum payment of $5,000 exceeds the statutory maximum payment of $4,000. "
    "(GOVERNANCE_MAX_PAYMENT at $.max_payment)"
)


def test_promotion_to_production_is_refused_after_the_setting_is_tightened(on_staging, release_manager):
    """v1 passed lint and sits on staging; under the new maximum production refuses it, recorded as refused."""
    assert on_staging.checks.get(kind="lint").status == "passed"
    with TIGHTENED:
        error = assert_promote_refused(on_staging.rule, release_manager, GovernanceRefused, "governance_refused")
    assert (error.status, error.message) == (409, REASON)
    assert error.details["findings"] == [
        {
            "code": "GOVERNANCE_MAX_PAYMENT",
            "severity": "error",
            "message": "The rule's maximum payment of $5,000 exceeds the statutory maximum payment of $4,000.",
            "path": "$.max_payment",
        }
    ]
    assert last_event("release.promote").data["environment"] == "production"


def test_the_same_version_goes_live_once_the_setting_allows_it(on_staging, release_manager):
    """The refusal is the settings', not the version's: at the old maximum it is promoted as before."""
    with TIGHTENED:
        assert_promote_refused(on_staging.rule, release_manager, GovernanceRefused, "governance_refused")
    with override_settings(PDP_GOVERNANCE_MAX_PAYMENT=5000):
        deployment = promote(on_staging.rule, actor=release_manager)
    assert live_version(on_staging.rule, "production") == on_staging.pk
    assert last_event("release.promote").data["deployment"] == deployment.pk


def test_the_promotion_to_staging_after_the_last_sign_off_is_refused(in_review, counsel, budget_officer):
    """Tightened while in review: the approval stands, staging refuses it, the system's refusal is audited."""
    with TIGHTENED:
        approve_both(in_review, counsel=counsel, budget_officer=budget_officer)
    assert in_review.status == "approved"
    assert live_version(in_review.rule, "staging") is None
    assert not Deployment.objects.exists()
    event = last_event("release.promote")
    assert (event.outcome, event.actor, event.data["code"], event.data["reason"]) == (
        "refused",
        None,
        "governance_refused",
        REASON,
    )
    assert event.data["on_behalf_of"] == budget_officer.username


def test_the_sweeper_leaves_a_held_version_until_the_setting_allows_it(in_review, counsel, budget_officer):
    """catch_up_staging does not retry (and record) the refusal every sweep; once the setting allows it, it stages."""
    from deployments.services import catch_up_staging

    with TIGHTENED:
        approve_both(in_review, counsel=counsel, budget_officer=budget_officer)
        events = pipeline_events().count()
        assert catch_up_staging() == []
        assert pipeline_events().count() == events
    assert catch_up_staging() == [in_review]
    assert live_version(in_review.rule, "staging") == in_review.pk


def test_a_redeploy_is_refused_too(rolled_back, release_manager):
    """Deploy again (production rolled back to v0) meets the checks in force now, like a first promotion."""
    with TIGHTENED:
        error = assert_promote_refused(
            rolled_back.rule, release_manager, GovernanceRefused, "governance_refused", number=1
        )
    assert error.message == REASON
    assert live_version(rolled_back.rule, "production") is None


def test_a_rollback_is_not_held_by_the_checks(in_production, release_manager):
    """A rollback goes back to what was live; the checks in force do not stand in its way."""
    with TIGHTENED:
        deployment = rollback(in_production.rule, actor=release_manager, reason="Congress requested pause")
    assert (deployment.kind, deployment.to_version) == ("rollback", None)


def test_the_portal_shows_the_reason(client, on_staging, release_manager):
    """The rule page's Promote is refused with the reason at the top of the page; nothing moves."""
    client.force_login(release_manager)
    with TIGHTENED:
        response = client.post(reverse("rule-promote", args=[on_staging.rule.slug]), {}, follow=True)
    assert response.status_code == 200
    assert REASON in html.unescape(response.content.decode())
    assert live_version(on_staging.rule, "production") is None


def test_the_rule_page_and_the_board_offer_no_button_a_check_refuses(client, on_staging, release_manager):
    """Where a governance check in force refuses the version, the rule page and the board show the reason
    instead of a Promote button; under the old maximum the button is back."""
    client.force_login(release_manager)
    for page in (reverse("rule-detail", args=[on_staging.rule.slug]), reverse("environments")):
        with TIGHTENED:
            text = html.unescape(client.get(page).content.decode())
        assert "Promote to production" not in text, page
        assert REASON in text, page
        assert "Promote to production" in client.get(page).content.decode(), page
