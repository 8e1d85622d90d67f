"""The way back on the rule page and the board: how staging and production stand, Deploy again, why not, the moves named."""

import html
import re

from django.conf import settings
from django.urls import reverse

from deployments.models import Deployment, Release
from deployments.services import promote, rollback
from reviews.services import reject_version
from tests.conftest import document, make_user


def rule_page(client, rule, person):
    client.force_login(person)
    response = client.get(reverse("rule-detail", args=[rule.slug]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def release_section(page):
    return page.split('id="release-heading"', 1)[1].split('aria-labelledby="versions-heading"', 1)[0]


def history(page):
    return page.split('id="deployments-heading"', 1)[1].split('aria-labelledby="audit-heading"', 1)[0]


def test_after_a_rollback_the_rule_page_offers_the_way_back(client, rolled_back, release_manager):
    """Staging v1, production v0: production is behind, and v1 can be deployed again, the move named."""
    section = release_section(rule_page(client, rolled_back.rule, release_manager))
    assert "out of sync" in section
    assert "Production serves an older version than staging: v0 (nothing), where staging serves v1" in section
    assert ">Deploy v1 again</button>" in section
    assert 'data-confirm-move="Production: v0 → v1 (deployed again)"' in section
    assert "Deploy Wildfire-Aid-2024 v1 again to production?" in section
    assert 'name="note"' in section and 'form="promote-form"' in section


def test_the_history_offers_deploy_again_on_the_newest_move_to_each_version(client, rolled_back, release_manager):
    """Production's promotion to v1 has Deploy again; staging's v1, live now, says so; the rollback to v0 has none."""
    rows = history(rule_page(client, rolled_back.rule, release_manager)).split("</tr>")[1:-1]
    rollback_row, production_row, staging_row = rows
    assert "Deploy again" not in rollback_row
    assert '<input type="hidden" name="version" value="1">' in production_row
    assert 'data-confirm-move="Production: v0 → v1 (deployed again)"' in production_row
    assert '<span class="usa-sr-only"> v1 to production</span>' in production_row
    assert "Live now." in staging_row and "<form" not in staging_row


def test_deploy_again_from_the_history_puts_the_version_back_with_its_note(client, rolled_back, release_manager):
    """The history's form posts the environment, the version and the note: v1 is live again, one redeploy."""
    client.force_login(release_manager)
    response = client.post(
        reverse("rule-promote", args=[rolled_back.rule.slug]),
        {"environment": "production", "version": "1", "note": "Pause lifted."},
        follow=True,
    )
    deployment = Deployment.objects.order_by("-id").first()
    assert (deployment.kind, deployment.to_version, deployment.note) == ("redeploy", rolled_back, "Pause lifted.")
    page = html.unescape(response.content.decode())
    assert f"Wildfire-Aid-2024 now LIVE in production again (v1), in {deployment.duration_s}s." in page
    assert "In sync: staging and production both serve v1." in page


def test_a_promote_form_that_cannot_be_read_changes_nothing(client, rolled_back, release_manager):
    """A version that is not a number is refused with a message; nothing moves."""
    client.force_login(release_manager)
    response = client.post(reverse("rule-promote", args=[rolled_back.rule.slug]), {"version": "one"}, follow=True)
    assert "The form could not be read (version:" in html.unescape(response.content.decode())
    assert Release.objects.get(rule=rolled_back.rule, environment__name="production").version is None


def test_in_sync_with_a_rejected_newer_version_says_why_there_is_no_promote(
    client, in_production, push, drafter, counsel, release_manager
):
    """Both serve v1 and v2 is rejected: "Nothing to promote. v2 is rejected." instead of a button."""
    v2 = push(document(title="Amended"), actor=drafter)
    reject_version(v2, actor=counsel, expected_hash=v2.content_hash, comment="Wrong citation.")
    section = release_section(rule_page(client, in_production.rule, release_manager))
    assert "In sync: staging and production both serve v1." in section
    assert '<p class="pdp-why" id="promote-why">Nothing to promote. v2 is rejected.</p>' in section
    assert "Promote to production</button>" not in section


def test_with_nothing_on_staging_the_page_says_so(client, in_review, release_manager):
    """A version in review, nothing live: the line says staging serves nothing, and what the version is."""
    section = release_section(rule_page(client, in_review.rule, release_manager))
    assert (
        "Nothing of Wildfire-Aid-2024 is live on staging; production takes a new version only from there. "
        "v1 is in review."
    ) in section


def test_the_drafter_release_manager_reads_why_not(client, on_staging):
    """A release manager who drafted the version on staging gets the service's reason, not a button."""
    author = make_user("author_and_releaser", settings.PDP_DRAFTER_GROUP, settings.PDP_RELEASE_GROUP)
    type(on_staging).objects.filter(pk=on_staging.pk).update(uploaded_by=author)
    section = release_section(rule_page(client, on_staging.rule, author))
    assert "The drafter of Wildfire-Aid-2024 v1 cannot promote it to production." in section
    assert "Promote to production</button>" not in section


def test_people_without_the_release_role_read_the_state_only(client, rolled_back, counsel):
    """Counsel sees that production is behind, and no button and no why-not line."""
    page = rule_page(client, rolled_back.rule, counsel)
    section = release_section(page)
    assert "Production serves an older version than staging" in section
    assert "Deploy" not in section and "pdp-why" not in section and "Roll back" not in section
    assert "Deploy again" not in history(page)


def test_the_rollback_form_preselects_an_environment_that_serves_something(client, rolled_back, release_manager):
    """Production serves nothing: it cannot be chosen, and staging, which serves v1, is preselected."""
    section = release_section(rule_page(client, rolled_back.rule, release_manager))
    production = re.search(r'<option value="production"[^>]*>', section).group(0)
    staging = re.search(r'<option value="staging"[^>]*>', section).group(0)
    assert "disabled" in production and "selected" not in production
    assert "selected" in staging and 'data-current="v1"' in staging and 'data-previous="v0"' in staging
    assert "Production (everyone), serving nothing (v0)" in section


def test_the_rollback_form_preselects_production_when_it_serves(client, in_production, release_manager):
    """Both serve v1: production comes first and is chosen; 'previous' there is v0."""
    section = release_section(rule_page(client, in_production.rule, release_manager))
    production = re.search(r'<option value="production"[^>]*>', section).group(0)
    assert "selected" in production and 'data-name="Production"' in production and 'data-previous="v0"' in production
    assert "data-confirm-rollback" in section


def test_previous_after_a_redeploy_is_where_it_came_from_on_the_page(client, with_v2_live, release_manager):
    """v2 withdrawn to v0 and deployed again: the form's "previous" for production is v0, as the service's."""
    v1, _ = with_v2_live
    rollback(v1.rule, actor=release_manager, reason="withdraw", to="v0")
    promote(v1.rule, actor=release_manager, number=2)
    section = release_section(rule_page(client, v1.rule, release_manager))
    assert "“previous” now means production: v2 → v0; staging: v2 → v1." in section


def board_row(client, person, name):
    client.force_login(person)
    page = html.unescape(client.get(reverse("environments")).content.decode())
    return next(row for row in page.split("</tr>") if f">{name}</a>" in row)


def test_the_board_offers_the_way_back_after_a_rollback(client, rolled_back, release_manager, counsel):
    """The board says production is behind and offers Deploy v1 again, back to the board; counsel reads the state."""
    row = board_row(client, release_manager, "Wildfire-Aid-2024")
    assert "out of sync" in row and "Production serves an older version than staging" in row
    assert "Deploy v1 again<span" in row and 'data-confirm-move="Production: v0 → v1 (deployed again)"' in row
    assert '<input type="hidden" name="back" value="board">' in row
    row = board_row(client, counsel, "Wildfire-Aid-2024")
    assert "Production serves an older version than staging" in row and "Deploy" not in row


def test_the_board_offers_the_version_production_was_rolled_back_from(client, with_v2_live, release_manager):
    """Both rolled back from v2 to v1 (in sync): the board offers Deploy v2 again to production."""
    v1, _ = with_v2_live
    rollback(v1.rule, actor=release_manager, reason="v2 wrong", to="v1")
    rollback(v1.rule, actor=release_manager, reason="v2 wrong", to="v1", environment="staging")
    row = board_row(client, release_manager, "Wildfire-Aid-2024")
    assert "In sync: staging and production both serve v1." in row
    assert "Deploy v2 again<span" in row and '<input type="hidden" name="version" value="2">' in row
    assert "Production: v1 → v2 (deployed again)" in row
