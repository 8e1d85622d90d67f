"""Money and people as the CLI, the findings and the pages print them, each a call into Babel (en_US, USD).

- `money`: `$1,234.50`, or whole dollars `$98,000,000` (Babel's format_currency);
- `signed_money`: a change in money, `+$1,200.00`, `−$300.00`, `$0.00`;
- `short_money`: `$98M`, `$1.2B`, `$950K`, `$420` (format_compact_currency above $1,000);
- `people`: a weighted count of people in whole people, `1,234` (format_decimal).

Each figure is rounded from its exact value (an int's digits, a float's binary value, as Python's own
format() does), half to even. A negative amount of money has a true minus sign before the dollar
sign (`−$300.00`); an amount that rounds to zero has no sign. static/js/charts.js prints the same
short money and people with the browser's Intl.NumberFormat.
"""

from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import SupportsFloat

from babel import Locale
from babel.numbers import format_compact_currency, format_currency, format_decimal

LOCALE = Locale.parse("en_US")
CURRENCY = "USD"
MINUS = "−"  # U+2212, in place of Babel's hyphen-minus
WHOLE_DOLLARS = "¤#,##0"  # en_US's currency pattern less its cents
LARGEST_UNIT = 12  # T, the largest unit of en_US's short compact currency


def _exact(value: SupportsFloat) -> Decimal:
    """`value` as a Decimal of exactly its value: an int (any size) or Decimal as it is, else its float."""
    return Decimal(value) if isinstance(value, int | Decimal) else Decimal(float(value))


def _context(amount: Decimal) -> Context:
    """Half to even, with digits enough that no integer digit of `amount` is rounded away."""
    return Context(prec=max(28, amount.adjusted() + 8), rounding=ROUND_HALF_EVEN)


def _rounded(amount: Decimal, quantum: Decimal) -> Decimal:
    """`amount` to a multiple of `quantum`, half to even; zero and NaN have no sign (Babel would
    print `-$0.00` and `-$-,NaN`)."""
    if amount.is_nan():
        return Decimal("NaN")
    if not amount.is_finite():
        return amount
    rounded = amount.quantize(quantum)
    return rounded if rounded else Decimal(0)


def _minus(text: str) -> str:
    return text.replace("-", MINUS, 1)


def money(value: SupportsFloat, *, cents: bool = True) -> str:
    """`$1,234.50`, `−$300.00`; with `cents=False` whole dollars, `$98,000,000`. `$∞` and `$NaN` have no cents."""
    amount = _exact(value)
    with localcontext(_context(amount)):
        if cents and amount.is_finite():
            return _minus(format_currency(_rounded(amount, Decimal("0.01")), CURRENCY, locale=LOCALE))
        whole = _rounded(amount, Decimal(1))
        return _minus(format_currency(whole, CURRENCY, WHOLE_DOLLARS, locale=LOCALE, currency_digits=False))


def signed_money(value: SupportsFloat) -> str:
    """A change in money with its sign: `+$1,200.00`, `−$300.00`, and `$0.00` for what rounds to zero."""
    amount = _exact(value)
    with localcontext(_context(amount)):
        positive = not amount.is_nan() and _rounded(amount, Decimal("0.01")) > 0
    return ("+" if positive else "") + money(amount)


def short_money(value: SupportsFloat) -> str:
    """`$98M`, `$1.2B`, `$950K`, `$420`: whole dollars under $1,000, else one decimal of the unit at
    most and none from 100 of a unit up (`$123M`), rounded before the unit is chosen (`$1M`, not `$1000K`)."""
    amount = _exact(value)
    with localcontext(_context(amount)):
        whole = _rounded(amount, Decimal(1))
        if not whole.is_finite() or abs(whole) < 1000:
            return money(whole, cents=False)
        digits = whole.adjusted()  # 3 for thousands, 6 for millions, ...
        unit = min(digits - digits % 3, LARGEST_UNIT)
        # Three significant digits at most, and one decimal of the unit at most.
        shown = _rounded(amount, Decimal(1).scaleb(max(digits - 2, unit - 1)))
        return _minus(format_compact_currency(shown, CURRENCY, locale=LOCALE, fraction_digits=1))


def people(value: SupportsFloat) -> str:
    """A weighted count of people, rounded to whole people: `1,234`."""
    amount = _exact(value)
    with localcontext(_context(amount)):
        return format_decimal(_rounded(amount, Decimal(1)), "#,##0", locale=LOCALE)
