"""For a reviewer the rule page reads top-down: what changed, the rule, findings, cost, then the decision."""

from django.urls import reverse

from deployments.services import promote
from reviews.services import approve_version
from tests.conftest import document

SLUG = "wildfire-aid-2024"


def _order(page, *markers):
    return [page.index(marker) for marker in markers]


def test_the_evidence_comes_before_the_decision(client, in_review, counsel):
    client.force_login(counsel)
    page = client.get(reverse("rule-detail", args=[SLUG])).content.decode()
    positions = _order(
        page,
        'id="changes-heading"',
        'id="document-heading"',
        'id="checks-heading"',
        "Total cost",
        'id="decision-heading"',
        'name="expected_hash"',
    )
    assert positions == sorted(positions)
    assert 'href="#decision-heading">Go to your decision' in page  # the decision stays one jump away
    assert "This is the rule’s first version" in page


def test_what_changed_is_told_against_production_in_plain_words(client, in_production, push, drafter, counsel,
                                                                budget_officer, release_manager):  # fmt: skip
    newer = push(document(budget_cap=110_000_000), actor=drafter)
    client.force_login(counsel)
    page = client.get(reverse("rule-detail", args=[SLUG]) + f"?v={newer.number}").content.decode()
    section = page.split('id="changes-heading"')[1].split("</section>")[0]
    assert "since v1, live in production" in section
    assert "<strong>budget cap</strong>:" in section and '<ins class="pdp-changes__new">$110,000,000</ins>' in section
    approve_version(newer, actor=counsel, expected_hash=newer.content_hash)
    approve_version(newer, actor=budget_officer, expected_hash=newer.content_hash)
    promote(newer.rule, actor=release_manager)
    page = client.get(reverse("rule-detail", args=[SLUG]) + f"?v={newer.number}").content.decode()
    assert "v2 is the version live in production." in page.split('id="changes-heading"')[1]


def test_with_nothing_in_production_it_is_told_against_the_version_before(client, in_review, push, drafter, counsel):
    newer = push(document(amount=5500), actor=drafter)
    client.force_login(counsel)
    page = client.get(reverse("rule-detail", args=[SLUG]) + f"?v={newer.number}").content.decode()
    assert "since v1, the version before" in page
