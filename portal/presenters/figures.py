"""Figures as every page prints them; each takes None (or what is not a number) as "—"."""

from engine.simulation import short_money

DASH = "—"


def number(value):
    """`value` as a float, or None when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def money(value):
    """`$1,234.50`."""
    value = number(value)
    return f"${value:,.2f}" if value is not None else DASH


def signed_money(value):
    """A change in money with its sign: `+$1,200.00`, `−$300.00` (a true minus sign), `$0.00`."""
    value = number(value)
    if value is None:
        return DASH
    value = round(value, 2)
    if value == 0:
        return "$0.00"
    return f"{'+' if value > 0 else '−'}${abs(value):,.2f}"


def short(value):
    """`$98M`, `$1.2B`, `$950K`, `$420` (engine.simulation.short_money)."""
    value = number(value)
    return short_money(value) if value is not None else DASH


def people(value):
    """A weighted count of people, rounded to whole people: `1,234`."""
    value = number(value)
    return f"{round(value):,}" if value is not None else DASH


def count(value):
    """A count as stored: whole numbers with separators, fractions without trailing zeros."""
    if value is None:
        return DASH
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:,}" if isinstance(value, int) else str(value)
