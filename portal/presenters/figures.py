"""Figures as every page prints them; each takes None (or what is not a number) as "—".

Money and people are engine/figures.py's (on Babel), so the pages, the findings and the CLI agree.
"""

from engine import figures

DASH = "—"


def number(value):
    """`value` as a float, or None when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _figure(write, value):
    """`write(value)` of a number (an int keeps all its digits), else the dash."""
    return write(value) if isinstance(value, int) or number(value) is not None else DASH


def money(value):
    """`$1,234.50`, `−$300.00`."""
    return _figure(figures.money, value)


def signed_money(value):
    """A change in money with its sign: `+$1,200.00`, `−$300.00` (a true minus sign), `$0.00`."""
    return _figure(figures.signed_money, value)


def short(value):
    """`$98M`, `$1.2B`, `$950K`, `$420` (engine/figures.py short_money)."""
    return _figure(figures.short_money, value)


def people(value):
    """A weighted count of people, rounded to whole people: `1,234`."""
    return _figure(figures.people, value)


def count(value):
    """A count as stored: whole numbers with separators, fractions without trailing zeros."""
    if value is None:
        return DASH
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:,}" if isinstance(value, int) else str(value)
