"""Each fund against the pipeline: committed in production, waiting on staging, in review, if all went live."""

from django.urls import reverse

from budget.services import committed_costs, create_fund, fund_pipeline
from reviews.services import approve_version
from tests.conftest import document

FUND = "DRF-FY2025"


def _cost(version):
    return float(version.checks.get(kind="simulation").result["cost"])


def test_a_rule_live_everywhere_is_committed_only(in_production):
    cost = _cost(in_production)
    assert fund_pipeline() == {FUND: {"committed": cost, "staging": 0.0, "review": 0.0, "if_all_live": cost}}
    assert fund_pipeline()[FUND]["committed"] == committed_costs()[FUND]


def test_a_newer_version_counts_in_review_then_on_staging_and_replaces_the_live_one(
    in_production, push, drafter, counsel, budget_officer
):
    live_cost = _cost(in_production)
    newer = push(document(budget_cap=110_000_000, cost=97_000_000), actor=drafter)
    new_cost = _cost(newer)
    row = fund_pipeline()[FUND]
    assert row == {"committed": live_cost, "staging": 0.0, "review": new_cost, "if_all_live": new_cost}
    approve_version(newer, actor=counsel, expected_hash=newer.content_hash)
    approve_version(newer, actor=budget_officer, expected_hash=newer.content_hash)
    row = fund_pipeline()[FUND]
    assert row == {"committed": live_cost, "staging": new_cost, "review": 0.0, "if_all_live": new_cost}


def test_a_version_in_review_of_a_rule_never_live_adds_to_the_fund(in_review):
    cost = _cost(in_review)
    assert fund_pipeline() == {FUND: {"committed": 0.0, "staging": 0.0, "review": cost, "if_all_live": cost}}


def test_the_funds_page_shows_every_stage(client, in_production, push, drafter, budget_officer):
    create_fund(actor=budget_officer, code=FUND, name="Relief", appropriation="200000000", fiscal_year=2025)
    push(document(budget_cap=110_000_000), actor=drafter)
    client.force_login(budget_officer)
    page = client.get(reverse("fund-list")).content.decode()
    for heading in ("Committed (live in production)", "On staging", "In review", "Remainder if all go live"):
        assert f'<th scope="col">{heading}</th>' in page
    row = page.split(f"<code>{FUND}</code>")[1].split("</tr>")[0]
    assert row.count("$") >= 6 and "$0.00" in row  # nothing on staging
