"""The header counts what waits for the person signed in, on every page: sign-offs they may give, releases due."""

import re

from django.urls import reverse

from reviews.services import approve_version


def _badge(client, user, url_name="rule-list"):
    client.force_login(user)
    page = client.get(reverse(url_name)).content.decode()
    found = re.search(r'pdp-waiting"[^>]*>(\d+)<span class="usa-sr-only"> waiting for you', page)
    return int(found.group(1)) if found else 0


def test_each_reviewer_sees_the_sign_off_waiting_for_them_until_they_give_it(client, in_review, counsel,
                                                                           budget_officer, drafter):  # fmt: skip
    assert _badge(client, counsel) == 1
    assert _badge(client, budget_officer, "environments") == 1
    assert _badge(client, drafter) == 0  # their own version is not theirs to sign
    approve_version(in_review, actor=counsel, expected_hash=in_review.content_hash)
    assert _badge(client, counsel) == 0
    assert _badge(client, budget_officer) == 1


def test_the_release_manager_sees_what_waits_for_production(client, on_staging, release_manager, counsel):
    assert _badge(client, release_manager) == 1
    assert _badge(client, counsel) == 0


def test_nothing_waiting_shows_no_badge(client, db, counsel):
    client.force_login(counsel)
    assert "pdp-waiting" not in client.get(reverse("rule-list")).content.decode()
