"""engine/simulation.py: weighted figures, clamping, errors, declared cost and progress."""

import polars as pl
import pytest

from engine.simulation import simulate

ROWS = [
    # id, county, age, in_fire_zone, household_size, weight
    (1, "Lane", 40, True, 3, 10.0),
    (2, "Lane", 17, True, 4, 20.0),  # a minor: not eligible
    (3, "Lane", 70, False, 1, 5.0),  # outside the zone: not eligible
    (4, "Coos", 30, True, 1, 2.5),
    (5, "Coos", 55, True, 6, 1.0),  # pays 6 × 1000, clamped to 2,500
    (6, "Baker", 18, True, 2, 7.25),
    (7, "Baker", 90, True, 0, 3.0),  # pays 0 × 1000 - 0: eligible, paid nothing
]
ELIGIBILITY = {"and": [{">=": [{"var": "age"}, 18]}, {"==": [{"var": "in_fire_zone"}, True]}]}
AMOUNT = {"*": [{"var": "household_size"}, 1000]}


def frame(rows=ROWS):
    ids, counties, ages, zones, sizes, weights = zip(*rows, strict=True)
    return pl.DataFrame(
        {
            "id": list(ids),
            "county": list(counties),
            "age": list(ages),
            "in_fire_zone": list(zones),
            "household_size": list(sizes),
            "weight": list(weights),
        }
    )


def by_hand(rows, *, max_payment):
    """The same figures computed row by row in plain Python, independent of the engine."""
    eligible, recipients, cost, top, counties = 0, 0.0, 0.0, 0.0, {}
    for _id, county, age, zone, size, weight in rows:
        if age >= 18 and zone:
            pay = min(max(size * 1000.0, 0.0), max_payment)
            eligible += 1
            recipients += weight
            cost += weight * pay
            top = max(top, pay)
            entry = counties.setdefault(county, [0.0, 0.0])
            entry[0] += weight
            entry[1] += weight * pay
    return eligible, recipients, cost, top, counties


def test_weighted_figures_equal_a_hand_computation():
    """Eligible rows, weighted recipients, cost, mean, max and the county breakdown match a hand computation."""
    document = {"rule": "r", "eligibility": ELIGIBILITY, "amount": AMOUNT, "max_payment": 2500}
    result, findings = simulate(document, frame())
    eligible, recipients, cost, top, counties = by_hand(ROWS, max_payment=2500)
    assert (eligible, recipients, cost, top) == (5, 23.75, 44_500.0, 2500.0)  # the hand figures themselves
    assert findings == []
    assert result["rows"] == 7
    assert result["cost_source"] == "simulated"
    assert result["eligible_rows"] == eligible
    assert result["recipients"] == pytest.approx(recipients)
    assert result["cost"] == pytest.approx(cost)
    assert result["mean_payment"] == pytest.approx(round(cost / recipients, 2))
    assert result["max_payment"] == top
    assert [{k: c[k] for k in ("county", "recipients", "cost")} for c in result["by_county"]] == [
        {"county": name, "recipients": pytest.approx(r), "cost": pytest.approx(c)}
        for name, (r, c) in sorted(counties.items(), key=lambda kv: -kv[1][1])
    ]
    assert [c["county"] for c in result["by_county"]] == ["Lane", "Baker", "Coos"]


def test_without_weight_column_each_row_is_one_person():
    """A population without `weight` counts each row as one person."""
    document = {"rule": "r", "eligibility": ELIGIBILITY, "amount": 100}
    result, _ = simulate(document, frame().drop("weight"))
    assert result["eligible_rows"] == 5
    assert result["recipients"] == 5
    assert result["cost"] == 500


def test_amount_is_clamped_to_zero_and_max_payment():
    """A computed amount below 0 pays 0, above max_payment pays max_payment."""
    document = {
        "rule": "r",
        "eligibility": True,
        "amount": {"-": [{"*": [{"var": "household_size"}, 1000]}, 2500]},
        "max_payment": 2000,
    }
    rows = [(1, "A", 40, True, 1, 1.0), (2, "A", 40, True, 3, 1.0), (3, "A", 40, True, 9, 1.0)]
    result, _ = simulate(document, frame(rows))
    # -1500 → 0, 500 → 500, 6500 → 2000
    assert result["cost"] == 2500
    assert result["max_payment"] == 2000
    assert result["eligible_rows"] == 3


def test_constant_amount_defaults_to_max_payment():
    """Without an amount, an eligible citizen is paid max_payment."""
    document = {"rule": "r", "eligibility": ELIGIBILITY, "max_payment": 300}
    result, _ = simulate(document, frame())
    assert result["cost"] == pytest.approx(23.75 * 300)


def test_non_numeric_amount_is_an_error_naming_the_row():
    """An amount that is not a number stops the simulation with an error naming the row and its id."""
    document = {"rule": "r", "eligibility": ELIGIBILITY, "amount": {"if": [{">": [{"var": "age"}, 50]}, "lots", 100]}}
    result, findings = simulate(document, frame())
    assert result is None
    assert [(f["code"], f["severity"]) for f in findings] == [("EVALUATION_ERROR", "error")]
    assert "row 5 (id 5)" in findings[0]["message"]
    assert '"lots"' in findings[0]["message"]


def test_declared_cost_stands_in_without_eligibility():
    """Without eligibility logic the declared cost is the cost, with a warning; no rows are evaluated."""
    progress = []
    result, findings = simulate(
        {"rule": "r", "max_payment": 5000, "cost": 9.8e7}, frame(), progress=lambda *a: progress.append(a)
    )
    assert result["cost_source"] == "declared"
    assert result["cost"] == 98_000_000
    assert result["eligible_rows"] is None and result["recipients"] is None
    assert [(f["code"], f["severity"], f["path"]) for f in findings] == [("DECLARED_COST_ONLY", "warning", "$.cost")]
    assert "$98,000,000" in findings[0]["message"]
    assert progress == [(100, "declared cost used")]


def test_cost_far_from_the_estimate_is_a_warning():
    """A simulated cost more than 25% from the declared one is a COST_ESTIMATE_DRIFT warning."""
    document = {"rule": "r", "eligibility": ELIGIBILITY, "amount": 100, "cost": 1000}
    _, findings = simulate(document, frame())
    assert [f["code"] for f in findings] == ["COST_ESTIMATE_DRIFT"]  # 2,375 vs 1,000
    _, findings = simulate({**document, "cost": 2375}, frame())
    assert findings == []


def population(rows):
    return pl.DataFrame({"id": range(1, rows + 1), "age": [40] * rows, "in_fire_zone": [True] * rows})


def assert_reported_every_tenth(calls, rows):
    assert calls[-1][0] == 100
    percents = [0] + [p for p, _ in calls]
    assert percents == sorted(percents)
    rows_done = [0] + [int(note.split(" of ")[0].replace(",", "")) for _, note in calls[:-1]] + [rows]
    assert all(b - a <= rows / 10 for a, b in zip(rows_done, rows_done[1:], strict=False)), rows_done


@pytest.mark.parametrize("rows", [2_000, 12_340, 100, 10])
def test_progress_is_reported_at_least_every_ten_percent(rows):
    """The progress callback is called at least every 10% of the rows, ending at 100."""
    calls = []
    simulate(
        {"rule": "r", "eligibility": ELIGIBILITY, "amount": 1},
        population(rows),
        progress=lambda p, n: calls.append((p, n)),
    )
    assert len(calls) >= 10
    assert_reported_every_tenth(calls, rows)


@pytest.mark.parametrize("rows", [2_005, 12_345, 11])
def test_progress_every_ten_percent_when_rows_do_not_divide(rows):
    """Row counts that are not a multiple of ten are reported at least every 10% too."""
    calls = []
    simulate(
        {"rule": "r", "eligibility": ELIGIBILITY, "amount": 1},
        population(rows),
        progress=lambda p, n: calls.append((p, n)),
    )
    assert_reported_every_tenth(calls, rows)


def test_eligibility_that_cannot_be_evaluated_is_reported_at_eligibility():
    """Eligibility logic that fails for a citizen is an error at $.eligibility, naming the row."""
    document = {"rule": "r", "eligibility": {"<": [{"var": "age"}]}, "amount": 100}
    result, findings = simulate(document, frame())
    assert result is None
    assert [(f["code"], f["path"]) for f in findings] == [("EVALUATION_ERROR", "$.eligibility")]
    assert "row 1 (id 1)" in findings[0]["message"]
