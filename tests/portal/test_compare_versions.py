"""Comparing two versions of a rule: plain changes, the figures side by side, the line diff; bad picks refused."""

import pytest
from django.urls import reverse

from tests.conftest import document

SLUG = "wildfire-aid-2024"


@pytest.fixture
def two_versions(in_production, push, drafter):
    """v1 live in production; v2 raises the amount and the age limit, checked and in review."""
    newer = push(document(amount=5500, max_payment=5500, cost=97_000_000), actor=drafter)
    return in_production, newer


def _page(client, **query):
    return client.get(reverse("rule-compare", args=[SLUG]), query)


def test_the_newest_version_is_compared_with_the_one_before(client, two_versions, counsel):
    old, new = two_versions
    client.force_login(counsel)
    response = _page(client)
    assert response.status_code == 200
    page = response.content.decode()
    assert f"{old.label}</a> and <a" in page
    assert "amount</strong>:" in page and "$5,500" in page
    assert "Total cost" in page and "Recipients (weighted)" in page
    assert "Changes from v1 to v2" in page


def test_any_two_versions_in_either_order(client, two_versions, counsel):
    client.force_login(counsel)
    page = _page(client, **{"from": 2, "to": 1}).content.decode()
    assert "Changes from v2 to v1" in page
    assert '<option value="2" selected>' in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"from": "x"}, "is not a version number"),
        ({"to": "9"}, "This rule has no v9"),
    ],
)
def test_a_bad_pick_is_refused_with_a_clear_message(client, two_versions, counsel, query, message):
    client.force_login(counsel)
    response = _page(client, **query)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_the_same_version_twice_says_so(client, two_versions, counsel):
    client.force_login(counsel)
    page = _page(client, **{"from": 1, "to": 1}).content.decode()
    assert "You picked v1 twice" in page
    assert "The two documents are identical." in page


def test_the_page_reads_a_fixed_number_of_queries(client, in_production, push, drafter, counsel,
                                                 django_assert_max_num_queries):  # fmt: skip
    """However many versions the rule has, the page reads the same queries (the version list is one)."""
    client.force_login(counsel)
    push(document(amount=5500), actor=drafter)
    with django_assert_max_num_queries(30) as few:
        _page(client)
    for cost in range(6):
        push(document(cost=90_000_000 + cost), actor=drafter)
    with django_assert_max_num_queries(len(few.captured_queries)):
        _page(client)


def test_the_rule_page_links_to_the_comparison_once_there_are_two_versions(client, two_versions, counsel):
    client.force_login(counsel)
    page = client.get(reverse("rule-detail", args=[SLUG])).content.decode()
    assert reverse("rule-compare", args=[SLUG]) in page
