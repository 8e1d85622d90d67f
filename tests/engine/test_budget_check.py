"""engine/simulation.py budget_check: the smallest limit binds, and is named."""

from engine.simulation import budget_check, judge_cost, short_money


def test_smallest_limit_binds_and_is_named():
    """The binding limit is the smallest present one; absent limits are ignored."""
    passed, details = budget_check(
        98_000_000, {"site default": 1e9, "budget cap": 120_000_000, "fund remainder": 100_000_000, "other": None}
    )
    assert passed is True
    assert details["binding_limit"] == "fund remainder"
    assert details["budget_limit"] == 100_000_000
    assert details["limits"] == {"site default": 1e9, "budget cap": 120_000_000, "fund remainder": 100_000_000}
    assert details["within_budget"] is True
    assert details["over_by"] == 0
    assert details["headroom"] == 2_000_000


def test_over_the_smallest_limit_fails_with_the_excess():
    """A cost above the binding limit fails, with how far over it is."""
    passed, details = budget_check(2e9, {"site default": 1e9, "budget cap": None})
    assert passed is False
    assert details["binding_limit"] == "site default"
    assert details["over_by"] == 1e9
    assert details["headroom"] == 0
    assert details["within_budget"] is False


def test_cost_equal_to_the_limit_passes():
    """Exactly at the limit is within budget; a cent over is not."""
    assert budget_check(500.0, {"budget cap": 500})[0] is True
    assert budget_check(500.01, {"budget cap": 500})[0] is False


def test_a_zero_remainder_binds():
    """A limit of zero is a limit, not an absent one."""
    passed, details = budget_check(1, {"site default": 1e9, "fund remainder": 0})
    assert (passed, details["binding_limit"], details["over_by"]) == (False, "fund remainder", 1)


def test_short_money():
    """Figures print as $98M, $1.2B, $950K, $420."""
    assert [short_money(v) for v in (98e6, 1.2e9, 950e3, 420, 1e9, 2e9, 120e6)] == [
        "$98M", "$1.2B", "$950K", "$420", "$1B", "$2B", "$120M",
    ]  # fmt: skip


def test_the_verdict_over_budget_is_one_error_at_the_cost_it_came_from():
    """judge_cost: OVER_BUDGET names the binding limit and the excess, at $.cost when the cost was declared."""
    limits = {"site default": 1e9, "budget cap": 100_000_000}
    passed, details, findings = judge_cost({"cost": 150_000_000, "cost_source": "declared"}, limits)
    assert passed is False and details["binding_limit"] == "budget cap"
    assert [(f["code"], f["severity"], f["path"]) for f in findings] == [("OVER_BUDGET", "error", "$.cost")]
    assert findings[0]["message"] == "The cost of $150M is over the budget cap of $100M by $50M."
    _, _, simulated = judge_cost({"cost": 150_000_000, "cost_source": "simulated"}, limits)
    assert simulated[0]["path"] == "$"
    assert judge_cost({"cost": 1, "cost_source": "simulated"}, limits)[2] == []
