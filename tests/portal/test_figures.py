"""portal/presenters/figures.py: how every page prints money, people and counts."""

import pytest

from portal.presenters import figures


@pytest.mark.parametrize(
    ("function", "value", "text"),
    [
        (figures.money, 1234.5, "$1,234.50"),
        (figures.money, None, "—"),
        (figures.money, "not a number", "—"),
        (figures.signed_money, 1200, "+$1,200.00"),
        (figures.signed_money, -300, "−$300.00"),
        (figures.signed_money, 0.001, "$0.00"),
        (figures.short, 98_000_000, "$98M"),
        (figures.short, None, "—"),
        (figures.people, 1234.4, "1,234"),
        (figures.count, 1234, "1,234"),
        (figures.count, 2.5, "2.5"),
        (figures.count, None, "—"),
    ],
)
def test_each_figure_prints_as_the_pages_show_it(function, value, text):
    assert function(value) == text
