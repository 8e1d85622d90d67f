"""budget/services create_fund and update_fund: validated, audited, the budget office's alone."""

from decimal import Decimal

import pytest

from budget.models import Fund
from budget.services import committed_cost, committed_costs, create_fund, update_fund
from engine.errors import InvalidInput
from pdp_portal.exceptions import NotPermitted
from tests.conftest import last_event, pipeline_events


def _create(actor, **changes):
    args = {"code": "DRF-FY2025", "name": "Disaster Relief Fund", "appropriation": "120,000,000", "fiscal_year": 2025}
    return create_fund(actor=actor, **{**args, **changes})


def test_create_fund(budget_officer):
    """A fund is created with its parsed amount and year, and one fund.create event naming the values."""
    fund = _create(budget_officer, appropriation="$2,500,000.50", fiscal_year="2026")
    fund.refresh_from_db()
    assert (fund.code, fund.name, fund.appropriation, fund.fiscal_year) == (
        "DRF-FY2025", "Disaster Relief Fund", Decimal("2500000.50"), 2026,
    )  # fmt: skip
    event = last_event()
    assert (event.action, event.outcome, event.actor, event.target_id) == (
        "fund.create", "done", budget_officer, str(fund.pk),
    )  # fmt: skip
    assert event.data == {
        "changed": ["appropriation", "code", "fiscal_year", "name"],
        "values": {
            "code": "DRF-FY2025",
            "name": "Disaster Relief Fund",
            "appropriation": "2500000.50",
            "fiscal_year": "2026",
        },
    }


INVALID = [
    ("code", "drf-fy2025", "The fund code must be upper-case letters and digits, parts joined by '-' or '_', starting with a letter, at most 50 characters (like DRF-FY2025); 'drf-fy2025' is not."),
    ("code", "DRF FY", "The fund code must be upper-case letters and digits, parts joined by '-' or '_', starting with a letter, at most 50 characters (like DRF-FY2025); 'DRF FY' is not."),
    ("code", "", "The fund code must be upper-case letters and digits, parts joined by '-' or '_', starting with a letter, at most 50 characters (like DRF-FY2025); '' is not."),
    ("code", "D" * 51, None),
    ("appropriation", "-5", "The appropriation cannot be negative (-5)."),
    ("appropriation", "lots", "The appropriation must be an amount in dollars, like 120000000 or 2,500,000.50; 'lots' is not."),
    ("appropriation", "NaN", "The appropriation must be an amount in dollars, like 120000000 or 2,500,000.50; 'NaN' is not."),
    ("appropriation", "", "The appropriation must be an amount in dollars, like 120000000 or 2,500,000.50; '' is not."),
    ("appropriation", "10.005", "The appropriation has at most two decimal places (cents); 10.005 has more."),
    ("appropriation", "1e20", "The appropriation is too large; at most $9,999,999,999,999,999.99 can be stored."),
    ("fiscal_year", 1999, "The fiscal year must be between 2000 and 2100; 1999 is not."),
    ("fiscal_year", "2101", "The fiscal year must be between 2000 and 2100; 2101 is not."),
    ("fiscal_year", "FY25", "The fiscal year must be a year like 2025; 'FY25' is not."),
    ("name", "n" * 201, "The fund name is 201 characters; at most 200 are allowed."),
]  # fmt: skip


@pytest.mark.parametrize(("field", "value", "message"), INVALID, ids=[f"{f}={str(v)[:12]!r}" for f, v, _ in INVALID])
def test_create_fund_validation(budget_officer, field, value, message):
    """Each invalid value is refused with its reason; no fund is created and the refusal is recorded."""
    with pytest.raises(InvalidInput) as refused:
        _create(budget_officer, **{field: value})
    if message:
        assert refused.value.message == message
    assert not Fund.objects.exists()
    event = pipeline_events().get()
    assert (event.action, event.outcome, event.data["reason"]) == ("fund.create", "refused", refused.value.message)


def test_zero_appropriation_and_boundary_years_are_accepted(budget_officer):
    """An appropriation of 0 and the years 2000 and 2100 are allowed."""
    assert _create(budget_officer, appropriation=0, fiscal_year=2000).appropriation == 0
    assert _create(budget_officer, code="EDU-FY2100", appropriation="1", fiscal_year="2100").fiscal_year == 2100


def test_duplicate_code_is_refused(budget_officer):
    """A second fund with the same code is refused."""
    _create(budget_officer)
    with pytest.raises(InvalidInput) as refused:
        _create(budget_officer, name="Again")
    assert refused.value.message == "A fund with the code 'DRF-FY2025' already exists."
    assert Fund.objects.count() == 1


def test_update_fund(budget_officer):
    """Changing the appropriation and year saves only those fields and records fund.change with before and after."""
    fund = _create(budget_officer)
    update_fund(fund, actor=budget_officer, name="Disaster Relief Fund", appropriation="150000000", fiscal_year=2026)
    fund.refresh_from_db()
    assert (fund.appropriation, fund.fiscal_year) == (Decimal("150000000.00"), 2026)
    event = last_event()
    assert (event.action, event.outcome, event.actor, event.target_id) == (
        "fund.change",
        "done",
        budget_officer,
        str(fund.pk),
    )
    assert event.data == {
        "changed": ["appropriation", "fiscal_year"],
        "values": {"appropriation": "150000000.00", "fiscal_year": "2026"},
        "previous": {"appropriation": "120000000.00", "fiscal_year": "2025"},
    }


def test_update_only_the_name(budget_officer):
    """Fields not passed are left alone."""
    fund = _create(budget_officer)
    update_fund(fund, actor=budget_officer, name="Renamed")
    fund.refresh_from_db()
    assert (fund.name, fund.appropriation) == ("Renamed", Decimal("120000000.00"))
    assert last_event().data["changed"] == ["name"]


def test_update_validation_changes_nothing(budget_officer):
    """An invalid new value is refused and the fund keeps its values."""
    fund = _create(budget_officer)
    with pytest.raises(InvalidInput) as refused:
        update_fund(fund, actor=budget_officer, appropriation="-1")
    assert refused.value.message == "The appropriation cannot be negative (-1)."
    fund.refresh_from_db()
    assert fund.appropriation == Decimal("120000000.00")
    event = last_event()
    assert (event.action, event.outcome, event.target_id) == ("fund.change", "refused", str(fund.pk))


def test_update_without_a_change_is_refused(budget_officer):
    """Saving the same values is refused rather than recording an empty change."""
    fund = _create(budget_officer)
    with pytest.raises(InvalidInput) as refused:
        update_fund(fund, actor=budget_officer, appropriation="120000000.00", fiscal_year="2025")
    assert refused.value.message == "Nothing to change: the fund DRF-FY2025 already has these values."


@pytest.mark.parametrize("who", ["drafter", "outsider", "counsel", "release_manager"])
def test_only_the_budget_office_may_create_or_change_funds(request, budget_officer, who):
    """Anyone else is refused on both, and the refusals are recorded."""
    actor = request.getfixturevalue(who)
    with pytest.raises(NotPermitted) as refused:
        _create(actor)
    assert refused.value.message == "You may not create funds; that is for the budget office (the Budget group)."
    fund = _create(budget_officer)
    with pytest.raises(NotPermitted):
        update_fund(fund, actor=actor, appropriation="1")
    fund.refresh_from_db()
    assert fund.appropriation == Decimal("120000000.00")
    refusals = pipeline_events().filter(outcome="refused", actor=actor).values_list("action", flat=True)
    assert sorted(refusals) == ["fund.change", "fund.create"]


def test_committed_costs_match_committed_cost(in_production, budget_officer):
    """The one-pass sum for every fund equals the per-fund committed_cost the budget check uses."""
    fund = _create(budget_officer)
    other = _create(budget_officer, code="EDU-FY2026")
    live_cost = in_production.checks.get(kind="simulation").result["cost"]
    totals = committed_costs()
    assert totals == {"DRF-FY2025": pytest.approx(live_cost)}
    assert totals["DRF-FY2025"] == pytest.approx(committed_cost(fund))
    assert totals.get("EDU-FY2026", 0.0) == committed_cost(other) == 0.0
