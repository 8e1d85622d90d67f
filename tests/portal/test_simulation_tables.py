"""The rule page shows every figure a simulation stores, as accessible tables."""

import re

from django.urls import reverse

from checks.models import CheckRun
from checks.views import _simulation_figures
from portal.presenters.figures import signed_money as _signed_money
from tests.conftest import EXAMPLES, document

SLUG = "wildfire-aid-2024"
STRICTER = {
    "and": [
        {">=": [{"var": "age"}, 40]},
        {"==": [{"var": "in_fire_zone"}, True]},
        {"==": [{"var": "home_damaged"}, True]},
    ]
}


def _page(client, slug=SLUG, number=None):
    url = reverse("rule-detail", args=[slug]) + (f"?v={number}" if number else "")
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _table(body, caption):
    """The HTML of the table whose caption starts with `caption`."""
    match = re.search(r"<table[^>]*>\s*<caption>" + re.escape(caption) + r".*?</table>", body, re.S)
    assert match, f"no table captioned {caption!r}"
    return match.group(0)


def _row(table, label):
    """The cells of the row headed `label`, as text."""
    match = re.search(r"<tr[^>]*>\s*<th scope=\"row\"[^>]*>" + re.escape(label) + r"</th>(.*?)</tr>", table, re.S)
    assert match, f"no row {label!r}"
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)]


def test_histogram_table_shows_ten_bins_with_money_and_whole_people(client, in_review, counsel):
    """The simulated example shows "Payments by amount": ten bins, scoped headers, right-aligned figures."""
    client.force_login(counsel)
    table = _table(_page(client), "Payments by amount")
    assert table.count('<th scope="row"') == 10
    assert '<th scope="col" class="pdp-num">People</th>' in table
    # The wildfire rule pays a flat $5,000: everyone lands in the top bin.
    cells = _row(table, "$4,500.00 – $5,000.00")
    people, rows, cost = cells
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", people) and int(rows.replace(",", "")) > 0
    assert re.fullmatch(r"\$\d{1,3}(,\d{3})*\.\d\d", cost)
    assert _row(table, "$0.00 – $500.00") == ["0", "0", "$0.00"]
    assert 'class="pdp-num">' + people + "</td>" in table


def test_nothing_live_says_so_and_shows_reproducibility(client, in_review, counsel):
    """With nothing live there is no comparison table, one sentence instead, and the reproducibility line."""
    client.force_login(counsel)
    body = _page(client)
    assert "Against the version live in production</caption>" not in body
    assert "Nothing is live in production to compare with" in body
    assert "Overlap with other live rules of the program</caption>" not in body
    assert "No other rule of the program live in production pays any of the same people." in body
    simulation = in_review.checks.get(kind=CheckRun.Kind.SIMULATION)
    assert f'<code title="{in_review.content_hash}">{in_review.content_hash[:12]}</code>' in body
    assert f"<code>{simulation.result['engine']}</code>" in body
    assert "evaluated in columns" in body


def test_stricter_version_against_live_shows_losers_and_negative_delta(
    client, in_production, push, drafter, release_manager
):
    """v2 raising the age to 40 over a live v1: people no longer eligible, and a negative cost delta."""
    v2 = push(document(eligibility=STRICTER), actor=drafter)
    assert v2.status == "in_review"
    against = v2.checks.get(kind=CheckRun.Kind.SIMULATION).result["against_live"]
    client.force_login(release_manager)
    body = _page(client, number=2)
    table = _table(body, "Against the version live in production")
    people, rows = _row(table, "No longer eligible")
    assert int(people.replace(",", "")) > 0 and int(rows.replace(",", "")) > 0
    assert people == f"{round(against['no_longer_eligible']['people']):,}"
    assert _row(table, "Newly eligible") == ["0", "0"]
    costs = _table(body, "Cost against the version live in production")
    (delta,) = _row(costs, "Cost delta")
    assert delta.startswith("−$") and delta == f"−${abs(against['cost_delta']):,.2f}"
    (live_cost,) = _row(costs, "Live cost")
    assert live_cost == f"${against['live_cost']:,.2f}"
    assert "Nothing is live in production" not in body


def test_examples_show_values_decision_and_a_folded_trace(client, in_production, push, drafter, release_manager):
    """Example citizens show their values, the decision and, folded away, the steps that led to it."""
    push(document(eligibility=STRICTER), actor=drafter)
    client.force_login(release_manager)
    body = _page(client, number=2)
    assert ">Example citizens</h5>" in body
    assert "loses (eligible under the live version, not now)" in body
    assert "<dt>age</dt>" in body and "<dt>Live eligible</dt>" in body
    assert body.count("<summary>How this was decided</summary>") >= 2
    trace = re.search(r"<details class=\"pdp-trace\">.*?</details>", body, re.S).group(0)
    assert "<caption>Steps for row" in trace and '<th scope="col">Expression</th>' in trace
    assert 'class="pdp-trace__decision"' in trace and "(decision)" in trace
    assert re.search(r"<td><code[^>]*>[^<]+</code></td>", trace)


def test_declared_cost_rule_shows_only_what_exists(client, push, drafter, counsel):
    """The minimal rule (declared cost, no logic) renders its figures without the simulation's tables."""
    version = push((EXAMPLES / "wildfire-aid-minimal.json").read_bytes(), actor=drafter)
    assert version.checks.get(kind=CheckRun.Kind.SIMULATION).result["cost_source"] == "declared"
    client.force_login(counsel)
    body = _page(client, slug=version.rule.slug)
    assert "Simulation figures" in body and "$98,000,000.00" in body
    for caption in ("Payments by amount", "Against the version live", "Overlap with other", "Steps for row"):
        assert caption not in body
    assert "Example citizens" not in body and "Nothing is live" not in body and "No other rule" not in body
    assert "declared cost used, nothing evaluated" in body


def test_an_older_result_without_the_new_keys_still_renders():
    """A result stored before histograms and comparisons shows its figures and none of the new parts."""
    shown = _simulation_figures(
        {"rows": 2000, "cost_source": "simulated", "cost": 1234.5, "recipients": 10.4, "by_county": []}
    )
    assert {"label": "Total cost", "value": "$1,234.50"} in shown["figures"]
    assert shown["histogram"] == [] and shown["overlaps"] == [] and shown["examples"] == []
    assert shown["against_live"] is None and shown["against_live_note"] == "" and shown["overlaps_note"] == ""
    assert shown["reproducibility"] is None


def test_overlaps_and_signed_money_format_for_display():
    """Overlaps give whole people and money; a cost delta carries its sign."""
    shown = _simulation_figures(
        {
            "cost_source": "simulated",
            "cost": 10.0,
            "overlaps": [{"rule": "flood-aid", "version": 3, "rows": 12, "people": 1234.6, "cost_of_this_rule": 60000}],
            "against_live": {"newly_eligible": {"rows": 0, "people": 0.0}, "live_cost": 0.0, "cost_delta": 1200},
        }
    )
    assert shown["overlaps"] == [
        {"rule": "flood-aid", "version": "v3", "people": "1,235", "rows": "12", "cost": "$60,000.00"}
    ]
    assert {"label": "Cost delta", "value": "+$1,200.00"} in shown["against_live"]["costs"]
    assert {"label": "Amount changed", "people": "—", "rows": "—"} in shown["against_live"]["changes"]
    assert (_signed_money(-300), _signed_money(0), _signed_money(1234.5)) == ("−$300.00", "$0.00", "+$1,234.50")
