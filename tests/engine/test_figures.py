"""engine/figures.py: money and people as printed, pinned value by value.

Each function is a call into Babel; a Babel upgrade that prints any of these differently fails
here. hms/output.py short_money, which may not import the engine, must print the same.
"""

from decimal import Decimal

import pytest

from engine import figures
from hms.output import short_money as cli_short_money

SHORT_MONEY = [
    (0, "$0"),
    (-0.0, "$0"),
    (-0.4, "$0"),  # rounds to zero: no sign
    (0.5, "$0"),  # half to even
    (1.5, "$2"),
    (12.5, "$12"),
    (420, "$420"),
    (-420, "−$420"),
    (999, "$999"),
    (999.4, "$999"),
    (999.5, "$1K"),  # rounded before the unit is chosen
    (-999.5, "−$1K"),
    (1_000, "$1K"),
    (1_049, "$1K"),
    (1_050, "$1K"),  # a tie, half to even
    (1_150, "$1.2K"),
    (1_234.5, "$1.2K"),
    (9_950, "$10K"),
    (99_499, "$99.5K"),
    (99_949, "$99.9K"),
    (99_950, "$100K"),
    (-99_950, "−$100K"),
    (100_500, "$100K"),  # none from 100 of a unit up, half to even
    (101_500, "$102K"),
    (123_456, "$123K"),
    (950e3, "$950K"),
    (999_499, "$999K"),
    (999_500, "$1M"),
    (999_950, "$1M"),
    (1e6, "$1M"),
    (1_050_000, "$1M"),
    (69_732_600, "$69.7M"),
    (98e6, "$98M"),
    (-98e6, "−$98M"),
    (120e6, "$120M"),
    (123_456_789, "$123M"),
    (999.5e6, "$1B"),
    (1e9, "$1B"),
    (1.2e9, "$1.2B"),
    (-1.2e9, "−$1.2B"),
    (1.25e9, "$1.2B"),
    (2e9, "$2B"),
    (99.95e9, "$100B"),
    (999.5e9, "$1T"),
    (1e12, "$1T"),
    (-1e12, "−$1T"),
    (1.5e12, "$1.5T"),
    (2.5e12, "$2.5T"),
    (1e15, "$1000T"),  # T is the largest unit
    (2**53 + 1, "$9010T"),  # three significant digits at most
    (Decimal("98000000"), "$98M"),
    (float("inf"), "$∞"),
    (float("-inf"), "−$∞"),
    (float("nan"), "$NaN"),
]

MONEY = [
    (0, "$0.00"),
    (-0.001, "$0.00"),
    (0.001, "$0.00"),
    (0.005, "$0.01"),  # a float's binary value: 0.005000000000000000104…
    (0.015, "$0.01"),  # 0.01499999999999999944…
    (12.5, "$12.50"),
    (12.345, "$12.35"),
    (-0.4, "−$0.40"),
    (999.5, "$999.50"),
    (1_234.5, "$1,234.50"),
    (-1_234.5, "−$1,234.50"),
    (99_950, "$99,950.00"),
    (98e6, "$98,000,000.00"),
    (1e12, "$1,000,000,000,000.00"),
    (10**30, "$1,000,000,000,000,000,000,000,000,000,000.00"),  # an int keeps all its digits
    (2**53 + 1, "$9,007,199,254,740,993.00"),
    (float("inf"), "$∞"),
    (float("nan"), "$NaN"),
]

WHOLE_MONEY = [
    (0, "$0"),
    (-0.0, "$0"),
    (5_000, "$5,000"),
    (98_000_000, "$98,000,000"),
    (98e6, "$98,000,000"),
    (-420, "−$420"),
    (12.5, "$12"),
    (1e18, "$1,000,000,000,000,000,000"),
    (10**30, "$1,000,000,000,000,000,000,000,000,000,000"),
]

SIGNED_MONEY = [
    (0, "$0.00"),
    (0.001, "$0.00"),
    (-0.004, "$0.00"),
    (-0.005, "−$0.01"),
    (1_200, "+$1,200.00"),
    (1_234.5, "+$1,234.50"),
    (-300, "−$300.00"),
    (1e12, "+$1,000,000,000,000.00"),
    (float("inf"), "+$∞"),
    (float("-inf"), "−$∞"),
    (float("nan"), "$NaN"),
]

PEOPLE = [
    (0, "0"),
    (-0.4, "0"),
    (0.5, "0"),  # half to even
    (1.5, "2"),
    (2.5, "2"),
    (999.5, "1,000"),
    (1_234.4, "1,234"),
    (-1_234, "-1,234"),
    (99_950, "99,950"),
    (1e12, "1,000,000,000,000"),
    (10**30, "1,000,000,000,000,000,000,000,000,000,000"),
]


@pytest.mark.parametrize(("value", "text"), SHORT_MONEY)
def test_short_money(value, text):
    assert figures.short_money(value) == text


@pytest.mark.parametrize(("value", "text"), SHORT_MONEY)
def test_the_cli_prints_the_same_short_money(value, text):
    assert cli_short_money(value) == text


@pytest.mark.parametrize(("value", "text"), MONEY)
def test_money(value, text):
    assert figures.money(value) == text


@pytest.mark.parametrize(("value", "text"), WHOLE_MONEY)
def test_money_in_whole_dollars(value, text):
    assert figures.money(value, cents=False) == text


@pytest.mark.parametrize(("value", "text"), SIGNED_MONEY)
def test_signed_money(value, text):
    assert figures.signed_money(value) == text


@pytest.mark.parametrize(("value", "text"), PEOPLE)
def test_people(value, text):
    assert figures.people(value) == text


def test_the_engine_prints_short_money_of_figures():
    from engine.simulation import short_money

    assert short_money is figures.short_money


def test_a_huge_int_has_every_digit():
    """An int of 400 digits is money to the cent, not an error or a float's approximation."""
    assert figures.money(10**400) == "$10" + ",000" * 133 + ".00"
    assert figures.short_money(10**400) == "$1" + "0" * 388 + "T"
