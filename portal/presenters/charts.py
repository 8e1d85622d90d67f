"""The simulation's charts: what each one draws, how it is described in words, and its data table.

`chart_specs(result)` reads a stored simulation result (engine/simulation.py, with the budget check
merged in) and returns one spec per chart, in the order the rule page shows them. A spec carries
everything the template needs: the canvas and data ids, a title, a one-sentence summary for
`aria-label`, the sentences said under the chart, the tables listing every figure drawn, and the
chart data itself, which the template hands to static/js/charts.js through `json_script`.

A chart with nothing to draw is not drawn: its spec has `drawn=False` and a `note` saying why.
Results stored by older versions of the simulation lack some keys; each chart then says what the
result does not hold instead of failing.
"""

from .figures import count as _count
from .figures import money as _money
from .figures import number as _number
from .figures import people as _people
from .figures import short as _short
from .figures import signed_money as _signed_money

COUNTIES_DRAWN = 36  # Oregon has 36 counties: the chart shows them all, the table always does

# U.S. Web Design System colours, each at least 3:1 against the white page (WCAG 1.4.11). Colour
# never carries meaning alone: every bar is named on its axis and in the table.
BLUE = "#005ea2"
DARK_BLUE = "#1a4480"
GRAY = "#71767a"
GREEN = "#008817"
RED = "#d83933"

DECLARED = "The cost is the rule's declared cost: no citizen was evaluated, so there is"


def chart_specs(result):
    """The four charts of a simulation result, each with its table; never raises on a partial result."""
    result = result or {}
    return [
        _cost_by_county(result),
        _histogram(result),
        _budget(result),
        _gainers_and_losers(result),
    ]


# ---------------------------------------------------------------------------------------------
# Formatting, as the rule page's other tables print figures


def _share(part, whole):
    part, whole = _number(part), _number(whole)
    if part is None or not whole:
        return "—"
    return f"{part / whole:.1%}"


def _cell(value, numeric=True):
    return {"value": value, "numeric": numeric}


def _table(caption, columns, rows):
    """A data table: `columns` are (label, numeric) pairs, the first heading the rows."""
    return {
        "caption": caption,
        "columns": [{"label": label, "numeric": numeric} for label, numeric in columns],
        "rows": rows,
    }


def _row(header, cells, *, numeric_header=False, strong=False):
    return {"header": header, "numeric": numeric_header, "cells": cells, "strong": strong}


def _spec(key, title, *, drawn, summary="", note="", sentences=(), tables=(), data=None):
    return {
        "key": key,
        "canvas_id": f"chart-{key}",
        "data_id": f"chart-data-{key}",
        "title": title,
        "drawn": drawn,
        "summary": summary if drawn else "",
        "note": "" if drawn else note,
        "sentences": list(sentences),
        "tables": list(tables),
        "data": data if drawn else None,
    }


def _bar_data(labels, dataset_label, values, colors, *, value_format, value_title, category_title, horizontal=False):
    """The JSON static/js/charts.js turns into a Chart.js bar chart."""
    return {
        "type": "bar",
        "horizontal": horizontal,
        "labels": labels,
        "datasets": [{"label": dataset_label, "data": values, "colors": colors}],
        "value_format": value_format,  # "money" ($1.2M) or "people" (1,234)
        "value_title": value_title,
        "category_title": category_title,
    }


def _without_breakdown(result, what):
    """Why a simulated breakdown is empty, or None when it is not empty for a known reason."""
    if result.get("cost_source") == "declared":
        return f"{DECLARED} no {what}."
    if result.get("eligible_rows") == 0 or _number(result.get("recipients")) == 0:
        return f"No one in the population is eligible, so there is no {what}."
    return None


# ---------------------------------------------------------------------------------------------
# The four charts


def _cost_by_county(result):
    title = "Cost by county"
    counties = [c for c in result.get("by_county") or [] if isinstance(c, dict)]
    if not counties:
        if "by_county" not in result:
            note = "This simulation result holds no breakdown by county."
        else:
            note = _without_breakdown(result, "cost by county") or "The population has no county column."
        return _spec("cost-by-county", title, drawn=False, note=note)
    ordered = sorted(counties, key=lambda c: (-(_number(c.get("cost")) or 0.0), str(c.get("county", ""))))
    drawn = ordered[:COUNTIES_DRAWN]
    largest = drawn[0]
    scope = (
        "The table below lists every county."
        if len(ordered) <= COUNTIES_DRAWN
        else f"The {COUNTIES_DRAWN} costliest of {len(ordered)} counties are drawn; the table below lists every county."
    )
    summary = (
        f"Bar chart of cost by county; the largest is {largest.get('county', '')} "
        f"at {_short(largest.get('cost'))}. {scope}"
    )
    table = _table(
        "Cost by county",
        [("County", False), ("Recipients", True), ("Cost", True)],
        [
            _row(str(c.get("county", "")), [_cell(_count(c.get("recipients"))), _cell(_money(c.get("cost")))])
            for c in ordered
        ],
    )
    data = _bar_data(
        [str(c.get("county", "")) for c in drawn],
        "Cost",
        [_number(c.get("cost")) or 0.0 for c in drawn],
        [BLUE] * len(drawn),
        value_format="money",
        value_title="Cost",
        category_title="County",
    )
    return _spec("cost-by-county", title, drawn=True, summary=summary, tables=[table], data=data)


def _histogram(result):
    title = "Payment histogram"
    bins = [b for b in result.get("histogram") or [] if isinstance(b, dict)]
    if not bins or not any(_number(b.get("people")) for b in bins):
        if "histogram" not in result:
            note = "This simulation result holds no payment histogram."
        else:
            note = _without_breakdown(result, "payment to count") or "No one is paid, so there is no payment to count."
        return _spec("histogram", title, drawn=False, note=note)
    labels = [f"{_short(b.get('from'))}–{_short(b.get('to'))}" for b in bins]
    people = [_number(b.get("people")) or 0.0 for b in bins]
    busiest = max(range(len(bins)), key=lambda i: people[i])
    summary = (
        f"Bar chart of people by payment, in {len(bins)} bins from {_short(bins[0].get('from'))} "
        f"to {_short(bins[-1].get('to'))}; the most people ({_people(people[busiest])}) are paid "
        f"{labels[busiest]}. The table below lists every bin."
    )
    table = _table(
        "Payments by amount",
        [("Payment (from – to)", False), ("People", True), ("Rows", True), ("Cost", True)],
        [
            _row(
                f"{_money(b.get('from'))} – {_money(b.get('to'))}",
                [_cell(_people(b.get("people"))), _cell(_count(b.get("rows"))), _cell(_money(b.get("cost")))],
                numeric_header=True,
            )
            for b in bins
        ],
    )
    data = _bar_data(
        labels,
        "People",
        people,
        [BLUE] * len(bins),
        value_format="people",
        value_title="People",
        category_title="Payment",
    )
    return _spec("histogram", title, drawn=True, summary=summary, tables=[table], data=data)


def _limits(result):
    limits = result.get("limits")
    if isinstance(limits, dict) and limits:
        return {str(name): amount for name, amount in limits.items() if _number(amount) is not None}
    # Results stored before every limit was kept name only the binding one.
    if _number(result.get("budget_limit")) is not None:
        return {str(result.get("binding_limit") or "budget limit"): result["budget_limit"]}
    return {}


def _budget(result):
    title = "Cost against the budget limit"
    limits = _limits(result)
    cost = _number(result.get("cost"))
    if not limits or cost is None:
        note = (
            "This simulation result holds no budget limit to compare with."
            if cost is not None
            else "This simulation result holds no cost."
        )
        return _spec("budget", title, drawn=False, note=note)
    binding = result.get("binding_limit")
    if binding not in limits:
        binding = min(limits, key=lambda name: _number(limits[name]))
    limit = _number(limits[binding])
    within = result.get("within_budget")
    if within is None:
        within = cost <= limit + 0.005
    if within:
        verdict = (
            f"Within budget: this version costs {_short(cost)} against the {binding} of {_short(limit)}, "
            f"leaving {_short(max(0.0, limit - cost))}."
        )
    else:
        verdict = (
            f"Over budget: this version costs {_short(cost)}, over the {binding} of {_short(limit)} "
            f"by {_short(max(0.0, cost - limit))}."
        )
    names = sorted(limits, key=lambda name: (_number(limits[name]), name))
    labels = ["This version's cost"] + [f"{name} (binds)" if name == binding else name for name in names]
    values = [cost] + [_number(limits[name]) for name in names]
    colors = [BLUE if within else RED] + [DARK_BLUE if name == binding else GRAY for name in names]
    summary = (
        f"Horizontal bar chart of this version's cost, {_short(cost)}, against {len(names)} budget "
        f"limit{'s' if len(names) != 1 else ''}; the {binding} of {_short(limit)} binds. "
        f"{'Within budget' if within else 'Over budget'}. The table below lists every figure."
    )
    rows = [_row("This version's cost", [_cell(_money(cost)), _cell("", False), _cell("", True)], strong=True)]
    rows += [
        _row(
            name,
            [
                _cell(_money(limits[name])),
                _cell("binds" if name == binding else "", False),
                _cell(_share(cost, limits[name])),
            ],
        )
        for name in names
    ]
    table = _table(
        "Cost against the budget limits (the smallest binds)",
        [("Figure", False), ("Amount", True), ("Binds", False), ("Cost as a share of it", True)],
        rows,
    )
    data = _bar_data(
        labels,
        "Amount",
        values,
        colors,
        value_format="money",
        value_title="Amount",
        category_title="",
        horizontal=True,
    )
    return _spec("budget", title, drawn=True, summary=summary, sentences=[verdict], tables=[table], data=data)


def _gainers_and_losers(result):
    title = "Gainers and losers against the live version"
    against = result.get("against_live")
    if not isinstance(against, dict):
        if result.get("cost_source") == "declared":
            note = f"{DECLARED} no comparison with the version live in production."
        elif "overlaps" in result:
            # "overlaps" arrived together with the comparison: a result holding it was compared.
            note = "Nothing is live in production to compare with (no live version of this rule has eligibility logic)."
        else:
            note = "This simulation result was stored before simulations compared with the live version."
        return _spec("gainers-losers", title, drawn=False, note=note)
    new = against.get("newly_eligible") or {}
    gone = against.get("no_longer_eligible") or {}
    cost, live_cost = _number(result.get("cost")), _number(against.get("live_cost"))
    delta = _number(against.get("cost_delta"))
    if delta is None and cost is not None and live_cost is not None:
        delta = cost - live_cost
    gained, lost = _number(new.get("people")) or 0.0, _number(gone.get("people")) or 0.0
    changes = _table(
        "Against the version live in production",
        [("Change", False), ("People", True), ("Rows", True)],
        [
            _row("Newly eligible", [_cell(_people(new.get("people"))), _cell(_count(new.get("rows")))]),
            _row("No longer eligible", [_cell(_people(gone.get("people"))), _cell(_count(gone.get("rows")))]),
            _row("Amount changed", [_cell("—"), _cell(_count(against.get("amount_changed_rows")))]),
        ],
    )
    costs = _table(
        "Cost against the version live in production",
        [("Figure", False), ("Amount", True)],
        [
            _row("Live cost", [_cell(_money(live_cost))]),
            _row("Cost of this version", [_cell(_money(cost))]),
            _row("Cost delta", [_cell(_signed_money(delta))]),
            _row("Live recipients", [_cell(_people(against.get("live_recipients")))]),
        ],
    )
    if delta is None:
        sentence = "The cost change against the live version is not recorded."
    elif round(delta, 2) == 0:
        sentence = f"This version costs the same as the live version ({_short(live_cost)})."
    else:
        direction = "more" if delta > 0 else "less"
        sentence = (
            f"This version costs {_short(abs(delta))} {direction} than the live version "
            f"({_short(cost)} against {_short(live_cost)})."
        )
    tables = [changes, costs]
    if not gained and not lost:
        note = "No one gains or loses eligibility against the live version."
        spec = _spec("gainers-losers", title, drawn=False, note=note, sentences=[sentence], tables=tables)
        return spec
    summary = (
        f"Bar chart of eligibility against the live version: {_people(gained)} people newly eligible, "
        f"{_people(lost)} no longer eligible. The tables below list the people, rows and costs."
    )
    data = _bar_data(
        ["Newly eligible", "No longer eligible"],
        "People",
        [gained, lost],
        [GREEN, RED],
        value_format="people",
        value_title="People",
        category_title="",
    )
    return _spec("gainers-losers", title, drawn=True, summary=summary, sentences=[sentence], tables=tables, data=data)
