"""The simulation's charts: their data from a stored result, and each drawn above its data table."""

import json
import re

import pytest
from django.urls import reverse

from checks.models import CheckRun
from portal.presenters.charts import COUNTIES_DRAWN, GREEN, RED, chart_specs
from tests.conftest import EXAMPLES, document

SLUG = "wildfire-aid-2024"
KEYS = ["cost-by-county", "histogram", "budget", "gainers-losers"]
STRICTER = {
    "and": [
        {">=": [{"var": "age"}, 40]},
        {"==": [{"var": "in_fire_zone"}, True]},
        {"==": [{"var": "home_damaged"}, True]},
    ]
}


def _result(version):
    return version.checks.get(kind=CheckRun.Kind.SIMULATION).result


def _specs(result):
    return {spec["key"]: spec for spec in chart_specs(result)}


def _page(client, slug=SLUG, number=None):
    url = reverse("rule-detail", args=[slug]) + (f"?v={number}" if number else "")
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _chart_section(body, key):
    """The HTML of the chart section whose canvas id is chart-`key`."""
    match = re.search(
        r'<section class="pdp-chart" aria-labelledby="chart-' + key + r'-heading">.*?</section>', body, re.S
    )
    assert match, f"no chart section {key!r}"
    return match.group(0)


def _chart_json(body, key):
    match = re.search(r'<script id="chart-data-' + key + r'" type="application/json">(.*?)</script>', body, re.S)
    assert match, f"no chart data {key!r}"
    return json.loads(match.group(1))


# ---------------------------------------------------------------------------------------------
# chart_specs on stored results


def test_specs_of_a_real_simulation_draw_county_histogram_and_budget(in_review):
    """The simulated example draws cost by county, the histogram and the budget; nothing live to compare."""
    result = _result(in_review)
    specs = chart_specs(result)
    assert [s["key"] for s in specs] == KEYS
    assert [s["canvas_id"] for s in specs] == [f"chart-{k}" for k in KEYS]
    assert [s["data_id"] for s in specs] == [f"chart-data-{k}" for k in KEYS]
    by_key = {s["key"]: s for s in specs}

    county = by_key["cost-by-county"]
    assert county["drawn"] and county["note"] == ""
    costs = county["data"]["datasets"][0]["data"]
    assert costs == sorted(costs, reverse=True) and 0 < len(costs) <= COUNTIES_DRAWN
    largest = result["by_county"][0]
    assert county["data"]["labels"][0] == largest["county"] and costs[0] == largest["cost"]
    assert f"the largest is {largest['county']} at $" in county["summary"]
    assert county["data"]["value_format"] == "money"
    (table,) = county["tables"]
    assert table["caption"] == "Cost by county" and len(table["rows"]) == len(result["by_county"])

    histogram = by_key["histogram"]
    assert histogram["drawn"] and len(histogram["data"]["labels"]) == 10
    people = histogram["data"]["datasets"][0]["data"]
    assert sum(people) == pytest.approx(result["recipients"])
    assert histogram["data"]["labels"][-1] == "$4.5K–$5K"  # the flat $5,000 lands in the top bin
    assert "are paid $4.5K–$5K" in histogram["summary"]
    assert histogram["tables"][0]["caption"] == "Payments by amount"

    budget = by_key["budget"]
    binding = result["binding_limit"]
    assert budget["drawn"] and budget["data"]["horizontal"] is True
    labels = budget["data"]["labels"]
    assert labels[0] == "This version's cost" and f"{binding} (binds)" in labels
    assert len(labels) == 1 + len(result["limits"])
    assert budget["data"]["datasets"][0]["data"][0] == result["cost"]
    assert result["within_budget"] and budget["sentences"][0].startswith("Within budget:")
    assert f"the {binding} of" in budget["summary"]
    rows = budget["tables"][0]["rows"]
    assert [r["header"] for r in rows][0] == "This version's cost"
    assert [r["cells"][1]["value"] for r in rows if r["header"] == binding] == ["binds"]

    against = by_key["gainers-losers"]
    assert not against["drawn"] and against["data"] is None and against["tables"] == []
    assert against["note"].startswith("Nothing is live in production to compare with")


def test_specs_against_a_live_version_draw_gainers_and_losers(in_production, push, drafter):
    """A stricter v2 over a live v1 draws no one gained, some lost, and says how much less it costs."""
    v2 = push(document(eligibility=STRICTER), actor=drafter)
    result = _result(v2)
    against = result["against_live"]
    spec = _specs(result)["gainers-losers"]
    assert spec["drawn"]
    assert spec["data"]["labels"] == ["Newly eligible", "No longer eligible"]
    assert spec["data"]["datasets"][0]["data"] == [0.0, against["no_longer_eligible"]["people"]]
    assert spec["data"]["datasets"][0]["colors"] == [GREEN, RED]
    assert "less than the live version" in spec["sentences"][0]
    changes, costs = spec["tables"]
    assert changes["caption"] == "Against the version live in production"
    assert costs["caption"] == "Cost against the version live in production"
    (delta,) = [r["cells"][0]["value"] for r in costs["rows"] if r["header"] == "Cost delta"]
    assert delta == f"−${abs(against['cost_delta']):,.2f}"


def test_specs_of_a_declared_cost_only_rule_draw_only_the_budget(push, drafter):
    """A rule without logic has no breakdowns to draw, and says why; its declared cost meets the budget."""
    version = push((EXAMPLES / "wildfire-aid-minimal.json").read_bytes(), actor=drafter)
    result = _result(version)
    assert result["cost_source"] == "declared"
    specs = _specs(result)
    for key in ("cost-by-county", "histogram", "gainers-losers"):
        assert not specs[key]["drawn"] and specs[key]["data"] is None
        assert specs[key]["note"].startswith("The cost is the rule's declared cost")
    assert specs["budget"]["drawn"]
    assert specs["budget"]["data"]["datasets"][0]["data"][0] == 98_000_000


@pytest.mark.parametrize(
    "result",
    [
        None,
        {},
        {"rows": 2000, "cost_source": "simulated", "cost": 1234.5, "recipients": 10.4, "by_county": []},
        {
            "cost": "not a number",
            "by_county": [{"county": "Lane"}, "junk"],
            "histogram": [{"from": None, "people": None}],
            "limits": {"budget cap": None},
            "against_live": {"newly_eligible": None},
        },
    ],
)
def test_specs_of_an_older_or_partial_result_do_not_crash(result):
    """A result stored before charts (or damaged) gives four specs, each drawn or saying why not."""
    specs = chart_specs(result)
    assert [s["key"] for s in specs] == KEYS
    for spec in specs:
        assert spec["drawn"] or spec["note"], spec
        json.dumps(spec)  # what json_script receives must serialise


def test_older_result_keeps_its_binding_limit_and_says_it_has_no_comparison():
    """A result holding only the binding limit still draws the budget; the comparison names its absence."""
    specs = _specs({"cost_source": "simulated", "cost": 150.0, "budget_limit": 100.0, "binding_limit": "budget cap"})
    budget = specs["budget"]
    assert budget["data"]["labels"] == ["This version's cost", "budget cap (binds)"]
    assert budget["sentences"] == ["Over budget: this version costs $150, over the budget cap of $100 by $50."]
    assert budget["data"]["datasets"][0]["colors"][0] == RED
    assert specs["gainers-losers"]["note"] == (
        "This simulation result was stored before simulations compared with the live version."
    )
    assert specs["cost-by-county"]["note"] == "This simulation result holds no breakdown by county."


def test_over_budget_is_said_in_words_and_the_smallest_limit_binds():
    """Over budget: the sentence says so and by how much; the binding limit is named on its bar."""
    specs = _specs(
        {
            "cost": 130e6,
            "limits": {"budget cap": 120e6, "site default": 1e9},
            "binding_limit": "budget cap",
            "within_budget": False,
        }
    )
    budget = specs["budget"]
    assert budget["sentences"] == ["Over budget: this version costs $130M, over the budget cap of $120M by $10M."]
    assert budget["data"]["labels"] == ["This version's cost", "budget cap (binds)", "site default"]
    assert "Over budget." in budget["summary"]
    shares = [r["cells"][2]["value"] for r in budget["tables"][0]["rows"]]
    assert shares == ["", "108.3%", "13.0%"]


def test_county_chart_draws_the_costliest_36_and_the_table_lists_all():
    """More counties than drawn: the 36 costliest are drawn, every county is in the table, and the label says so."""
    counties = [{"county": f"County {i:02d}", "recipients": 1.0, "cost": float(i)} for i in range(40)]
    spec = _specs({"cost_source": "simulated", "by_county": counties})["cost-by-county"]
    assert len(spec["data"]["labels"]) == COUNTIES_DRAWN and spec["data"]["labels"][0] == "County 39"
    assert len(spec["tables"][0]["rows"]) == 40
    assert "The 36 costliest of 40 counties are drawn" in spec["summary"]


def test_nobody_eligible_draws_no_breakdown_and_says_why():
    """A simulation where no one is eligible has no county or payment chart, and says so."""
    specs = _specs(
        {"cost_source": "simulated", "eligible_rows": 0, "recipients": 0.0, "by_county": [], "histogram": []}
    )
    assert specs["cost-by-county"]["note"] == "No one in the population is eligible, so there is no cost by county."
    assert specs["histogram"]["note"] == "No one in the population is eligible, so there is no payment to count."


# ---------------------------------------------------------------------------------------------
# On the rule page and in the checks fragment


def test_rule_page_draws_each_chart_above_its_table(client, in_review, counsel):
    """Each drawn chart is an accessible canvas with its JSON and, below it, its captioned table."""
    client.force_login(counsel)
    body = _page(client)
    for key, caption in (
        ("cost-by-county", "Cost by county"),
        ("histogram", "Payments by amount"),
        ("budget", "Cost against the budget limits (the smallest binds)"),
    ):
        section = _chart_section(body, key)
        canvas = re.search(r"<canvas [^>]*>", section).group(0)
        assert f'id="chart-{key}"' in canvas and f'data-chart="chart-data-{key}"' in canvas
        assert 'role="img"' in canvas and re.search(r'aria-label="[^"]{20,}"', canvas)
        assert section.index("<canvas") < section.index(f"<caption>{caption}</caption>")
        assert f'<script id="chart-data-{key}" type="application/json">' in section
        assert body.count(f'id="chart-{key}"') == 1 and body.count(f'id="chart-data-{key}"') == 1
    data = _chart_json(body, "cost-by-county")
    assert data["labels"][0] == _result(in_review)["by_county"][0]["county"]
    # Nothing live: no canvas, one sentence instead.
    section = _chart_section(body, "gainers-losers")
    assert "<canvas" not in section and "Nothing is live in production to compare with" in section
    assert '<script id="chart-data-gainers-losers"' not in body
    checks = body[body.index('id="checks"') : body.index('id="reviews-heading"')]
    scripts = re.findall(r"<script[^>]*>", checks)
    assert len(scripts) == 3 and all('type="application/json"' in s for s in scripts)  # data only, no code


def test_checks_fragment_carries_the_charts(client, in_review, counsel):
    """The htmx-polled fragment renders the same charts, so a swap redraws them."""
    client.force_login(counsel)
    body = client.get(reverse("version-checks", args=[SLUG, 1])).content.decode()
    for key in ("cost-by-county", "histogram", "budget"):
        assert f'<canvas id="chart-{key}"' in body
        assert f'<script id="chart-data-{key}" type="application/json">' in body


def test_rule_page_against_live_draws_gainers_and_losers_with_both_tables(
    client, in_production, push, drafter, release_manager
):
    """A v2 over a live v1 draws the gainers and losers, says the cost change, and lists both tables."""
    push(document(eligibility=STRICTER), actor=drafter)
    client.force_login(release_manager)
    section = _chart_section(_page(client, number=2), "gainers-losers")
    assert '<canvas id="chart-gainers-losers"' in section
    assert "<caption>Against the version live in production</caption>" in section
    assert "<caption>Cost against the version live in production</caption>" in section
    assert "less than the live version" in section


def test_county_names_are_escaped_inside_the_chart_data(client, in_review, counsel):
    """A county name with markup cannot close the JSON script element, and reads back unchanged."""
    name = '</script><script>alert("x")</script> & <!-- Co'
    check = in_review.checks.get(kind=CheckRun.Kind.SIMULATION)
    result = check.result
    result["by_county"][0]["county"] = name
    CheckRun.objects.filter(pk=check.pk).update(result=result)
    client.force_login(counsel)
    body = _page(client)
    assert "<script>alert" not in body and "<!-- Co" not in body
    assert _chart_json(body, "cost-by-county")["labels"][0] == name
    section = _chart_section(body, "cost-by-county")
    assert "&lt;/script&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;!-- Co" in section
