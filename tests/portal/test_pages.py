"""What the pages show: sign in and out, the rule list, the rule page."""

import html

from django.urls import reverse

from tests.conftest import document


def test_login_page_and_sign_in(client, drafter):
    """The sign-in page has labelled fields on the USWDS layout; signing in lands on the rule list."""
    page = client.get(reverse("login")).content.decode()
    assert '<label class="usa-label" for="id_username">' in page
    assert "uswds/css/uswds.min.css" in page and "uswds/js/uswds-init.min.js" in page
    assert 'class="usa-skipnav" href="#main-content"' in page
    response = client.post(reverse("login"), {"username": "drafter", "password": "pw-for-tests-1"})
    assert response.status_code == 302 and response["Location"] == reverse("home")


def test_wrong_password_is_shown(client, drafter):
    """A wrong password re-shows the form with an error and no session."""
    response = client.post(reverse("login"), {"username": "drafter", "password": "nope"})
    assert response.status_code == 200
    assert "usa-alert--error" in response.content.decode()
    assert client.get(reverse("home")).status_code == 302


def test_logout_is_a_post_from_the_navigation(client, counsel):
    """The navigation's Log out button (with the user's name) posts to logout and ends the session."""
    client.force_login(counsel)
    page = client.get(reverse("home")).content.decode()
    assert 'action="/logout/"' in page and "Log out counsel" in page
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302


def test_admin_link_only_for_staff(client, counsel, superuser):
    """Staff get an Admin link in the navigation; others do not."""
    client.force_login(counsel)
    assert 'href="/admin/"' not in client.get(reverse("home")).content.decode()
    client.force_login(superuser)
    assert 'href="/admin/"' in client.get(reverse("home")).content.decode()


def test_rule_list_shows_latest_version_status_and_live_versions(client, push, in_production, drafter, counsel):
    """Each row: the rule, its latest version and status, and what staging and production serve."""
    push(document(cost=97_000_000), actor=drafter)  # v2, in review; v1 stays live
    client.force_login(counsel)
    page = html.unescape(client.get(reverse("rule-list")).content.decode())
    row = page.split('href="/rules/wildfire-aid-2024/"')[1].split("</tr>")[0]
    cells = [c.split(">", 1)[1].split("<")[0].strip() for c in row.split("<td")[1:]]
    assert cells[0] == "Wildfire Relief Payment 2024"
    assert cells[2] == "v2"
    assert "in review" in row
    assert cells[-2:] == ["v1", "v1"]


def test_rule_page_lists_versions_checks_reviews_deployments_and_audit(client, in_production, counsel):
    """The rule page shows where it is live, its versions, checks, reviews, deployment history and audit timeline."""
    client.force_login(counsel)
    page = html.unescape(client.get(reverse("rule-detail", args=["wildfire-aid-2024"])).content.decode())
    for text in [
        "Wildfire Relief Payment 2024",
        "disaster-relief",
        "Production (everyone)",
        in_production.content_hash[:12],
        "Simulation figures",
        "Budget limit",
        "budget cap",
        "Headroom",
        "Cost by county",
        "COST_ESTIMATE_DRIFT",
        "Deployment history",
        "All required reviews received.",  # the automatic promotion to staging, with its note
        "release.promote",
        "review.approve",
        "rule.push",
    ]:
        assert text in page, text
