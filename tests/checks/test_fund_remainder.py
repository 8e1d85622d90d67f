"""budget/services.py budget limits: a fund's remainder after the other rules live in production on it."""

import json

import pytest

from budget.models import Fund
from tests.conftest import last_event
from tests.deployments.support import events


def other_rule(cost, fund="DRF-FY2025"):
    return json.dumps({"rule": "wildfire-aid-2025", "fund": fund, "max_payment": 5000, "cost": cost}).encode()


def test_remainder_binds_when_other_live_rules_use_the_fund_up(in_production, push, other_drafter):
    """With the fund's whole appropriation drawn by a rule live in production, another rule on it is over budget."""
    live_cost = in_production.checks.get(kind="simulation").result["cost"]
    Fund.objects.create(code="DRF-FY2025", appropriation=live_cost, fiscal_year=2025)
    version = push(other_rule(1_000_000), actor=other_drafter)
    simulation = version.checks.get(kind="simulation")
    assert version.status == "simulation_failed"
    assert simulation.result["binding_limit"] == "fund remainder"
    assert simulation.result["budget_limit"] == 0
    assert simulation.result["limits"]["fund remainder"] == 0
    (over,) = [f for f in simulation.findings if f["code"] == "OVER_BUDGET"]
    assert over["message"] == "The cost of $1M is over the fund remainder of $0 by $1M."
    event = last_event("check.simulation")
    assert (event.target_id, event.data["status"], event.data["within_budget"]) == (str(version.pk), "failed", False)


def test_remainder_is_the_appropriation_less_live_costs(in_production, push, other_drafter):
    """The remainder is the appropriation less the simulated cost of the other rules live in production."""
    live_cost = in_production.checks.get(kind="simulation").result["cost"]
    Fund.objects.create(code="DRF-FY2025", appropriation=live_cost + 10_000_000, fiscal_year=2025)
    passing = push(other_rule(10_000_000), actor=other_drafter)
    assert passing.status == "in_review"
    result = passing.checks.get(kind="simulation").result
    assert (result["binding_limit"], result["budget_limit"], result["headroom"]) == ("fund remainder", 10_000_000, 0)
    failing = push(other_rule(10_000_001), actor=other_drafter)
    assert failing.status == "simulation_failed"
    assert [e.data["within_budget"] for e in events("check.simulation")][-2:] == [True, False]


def test_rules_only_on_staging_do_not_draw_on_the_fund(on_staging, push, other_drafter):
    """A rule live only on staging does not reduce the fund's remainder."""
    live_cost = on_staging.checks.get(kind="simulation").result["cost"]
    Fund.objects.create(code="DRF-FY2025", appropriation=live_cost, fiscal_year=2025)
    version = push(other_rule(1_000_000), actor=other_drafter)
    result = version.checks.get(kind="simulation").result
    assert version.status == "in_review"
    assert result["limits"]["fund remainder"] == pytest.approx(live_cost)
    assert last_event("check.simulation").data["within_budget"] is True


def test_a_rules_own_live_version_does_not_count_against_it(in_production, push, drafter):
    """A new version of the live rule is measured against the fund without its own live version's cost."""
    live_cost = in_production.checks.get(kind="simulation").result["cost"]
    Fund.objects.create(code="DRF-FY2025", appropriation=live_cost, fiscal_year=2025)
    from tests.conftest import document

    version = push(document(title="Amended"), actor=drafter)
    result = version.checks.get(kind="simulation").result
    assert version.status == "in_review"
    assert result["limits"]["fund remainder"] == pytest.approx(live_cost)
    assert result["binding_limit"] == "fund remainder"


def test_unknown_fund_is_a_warning(push, other_drafter):
    """A fund that is not registered gives FUND_UNKNOWN and no remainder limit."""
    version = push(other_rule(1_000_000, fund="NO-SUCH-FUND"), actor=other_drafter)
    simulation = version.checks.get(kind="simulation")
    assert version.status == "in_review"
    assert ("FUND_UNKNOWN", "warning", "$.fund") in [(f["code"], f["severity"], f["path"]) for f in simulation.findings]
    assert "fund remainder" not in simulation.result["limits"]
