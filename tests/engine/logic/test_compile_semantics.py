"""The semantic tables in engine/logic/compile/__init__.py, checked against datalogic-py and the compiler.

Each entry is (rule, record, expected). The values sit in the record (so the compiler reads them
from typed columns, not from literals it could fold): the scalar path must give `expected`, and so
must the compiled expression over the one-row frame. ERROR means the evaluation raises.
"""

import math
import random

import polars as pl
import pytest

from engine.logic.compile import compile_logic

from .support import ENGINE, ERROR, INEXACT, compiled_rows, one_row_frame, same_answer, scalar

A, B, C = {"var": "a"}, {"var": "b"}, {"var": "c"}
MAX = 1.7976931348623157e308

TRUTHINESS = [
    ({"!!": [A]}, {"a": value}, expected)
    for value, expected in [
        (0, False), (0.0, False), (-0.0, False), (1, True), (-1, True), (0.5, True),
        ("", False), ("0", True), (" ", True), ("false", True), (None, False),
        (False, False), (True, True), (math.nan, False), (math.inf, False),  # NaN/inf data read as null
    ]
]  # fmt: skip

LOOSE_EQUALITY = [
    ({"==": [A, B]}, {"a": a, "b": b}, expected)
    for a, b, expected in [
        (1, 1.0, True), (1, "1", True), (1, "1.0", True), (1, "1e0", True), (1, "01", True),
        (0, "", ERROR), (1, " 1", ERROR), (1, "abc", ERROR), (1, "true", ERROR),
        (0, None, True), (1, None, False), (0.0, None, True),
        (1, True, True), (0, False, True), (2, True, False),
        ("", None, True), ("0", None, False), ("null", None, False),
        (True, "true", True), (True, "1", False), (False, "false", True), (False, "0", False), (False, "", False),
        (None, False, True), (None, True, False), (None, None, True),
        ("a", "a", True), ("a", "A", False),
    ]
] + [
    ({"==": [A, B, C]}, {"a": 0, "b": None, "c": ""}, ERROR),  # the first against each: 0 == "" raises
    ({"==": [A, B, C]}, {"a": None, "b": 0, "c": ""}, True),
    ({"==": [A, B, C]}, {"a": "1", "b": 1, "c": "1.0"}, False),
    ({"==": [A, B, {"+": ["abc"]}]}, {"a": 1, "b": 2}, False),  # stops at the first false
    ({"!=": [A, B, {"+": ["abc"]}]}, {"a": 1, "b": 1}, False),  # two operands only
    ({"===": [A, B]}, {"a": 1, "b": 1.0}, True),
    ({"===": [A, B]}, {"a": 1, "b": "1"}, False),
    ({"!==": [A, B]}, {"a": None, "b": False}, True),
]  # fmt: skip

ORDERING = [
    ({"<": [A, B]}, {"a": a, "b": b}, expected)
    for a, b, expected in [
        ("10", "9", True), ("a", "b", True), ("Z", "a", True), ("é", "z", False),  # text: code points
        ("", 0, False), ("", 1, True), ("2", 10, True), (None, 1, True), (True, 2, True),
        ("a", 1, ERROR), (1, "abc", ERROR), ("a", None, False), (None, "a", False), ("a", True, False),
    ]
] + [
    ({"<=": [A, B]}, {"a": None, "b": None}, True),
    ({"<": [A, B, C]}, {"a": "10", "b": "9", "c": 10}, True),  # consecutive pairs
    ({"<": [A, B, {"+": ["abc"]}]}, {"a": 2, "b": 1}, False),  # stops at the first false
    ({">": [A, B, C]}, {"a": 3, "b": 2, "c": 1}, True),
    ({">=": [A, B]}, {"a": "abc", "b": 1}, ERROR),
]  # fmt: skip

ARITHMETIC = [
    ({"+": [A, B]}, {"a": 1, "b": "2"}, 3),
    ({"+": [A, B, C]}, {"a": True, "b": None, "c": ""}, 1),
    ({"+": [A, B]}, {"a": 1, "b": "abc"}, ERROR),
    ({"+": [A, B]}, {"a": 1, "b": "1e400"}, ERROR),
    ({"+": [A, B]}, {"a": ".5", "b": "5."}, 5.5),
    ({"-": [A]}, {"a": "3"}, -3),
    ({"*": [A, B]}, {"a": 1.5, "b": 2}, 3),
    ({"/": [A, B]}, {"a": 7, "b": 10}, 0.7),  # IEEE division, not a multiplication by 0.1
    ({"/": [A]}, {"a": 4}, 0.25),
    ({"/": [A]}, {"a": None}, ERROR),
    ({"%": [A, B]}, {"a": -5, "b": 3}, -2),
    ({"%": [A, B]}, {"a": 5, "b": -3}, 2),
    ({"%": [A]}, {"a": 7}, ERROR),
    ({"+": [A, 1]}, {"a": 9007199254740992}, INEXACT),  # the engine is exact past 2**53; floats are not
]

ZERO_DIVISOR = [
    ({"/": [A, B]}, {"a": a, "b": b}, expected)
    for a, b, expected in [
        (10, 0, ERROR), (10.0, 0.0, ERROR), (0, 0, ERROR), (10, -0.0, ERROR),
        (10.5, 0, MAX), ("10", 0, MAX), (True, 0, MAX), (10, None, MAX), (-10, False, -MAX),
        (10, "", MAX), (10, "0", MAX), (0, None, 0), (None, 0, 0),
    ]
] + [
    ({"/": [1e20, B]}, {"b": 0}, MAX),  # integral, but past the 64-bit range
    ({"/": [A, B]}, {"a": 1e20, "b": 0}, INEXACT),  # the same from a column: past ARITH_LIMIT
    ({"/": [A, B, C]}, {"a": 10, "b": None, "c": "abc"}, MAX),  # returns at once: "abc" not read
    ({"/": [A, B, C]}, {"a": 10, "b": 2, "c": 0}, ERROR),  # 10 / 2 is the integer 5
    ({"/": [A, B, C]}, {"a": 10, "b": 4, "c": 0}, MAX),  # 2.5 is not
    ({"%": [A, B]}, {"a": 10, "b": None}, MAX),
    ({"%": [A, B]}, {"a": 10, "b": 0}, ERROR),
]  # fmt: skip

MIN_MAX_IN_CAT = [
    ({"min": [A, B]}, {"a": 1, "b": 2.5}, 1),
    ({"max": [A, B]}, {"a": 1, "b": None}, ERROR),
    ({"max": [A, B]}, {"a": "5", "b": 1}, ERROR),
    ({"min": [A, B]}, {"a": True, "b": 1}, ERROR),
    ({"cat": [{"min": [A, B]}]}, {"a": 1.0, "b": 1}, "1.0"),  # the first of equal values
    ({"cat": [{"min": [A, B]}]}, {"a": 1, "b": 1.0}, "1"),
    ({"in": [A, B]}, {"a": "é", "b": "café"}, True),
    ({"in": [A, B]}, {"a": "", "b": "abc"}, True),
    ({"in": [A, B]}, {"a": 1, "b": "a1b"}, False),
    ({"in": [A, [1, B]]}, {"a": 1.0, "b": "x"}, True),
    ({"in": [A, [B]]}, {"a": True, "b": 1}, False),  # strict membership
    ({"in": [A, [B]]}, {"a": None, "b": None}, True),
    ({"in": [{"+": ["abc"]}]}, {}, False),  # one operand: not evaluated
    ({"cat": [A, "|", B, "|", C]}, {"a": None, "b": True, "c": 3.0}, "|true|3.0"),
    ({"cat": [A, "|", B]}, {"a": -0.0, "b": 1e21}, "0.0|1e21"),
    ({"cat": [A, "|", B]}, {"a": 1e-7, "b": 1234.5}, "0.0000001|1234.5"),
    ({"cat": [{"+": [A, B]}]}, {"a": 1.5, "b": 1.5}, "3"),  # an integral result is an integer
    ({"cat": [A]}, {"a": -9223372036854775808.0}, "-9223372036854775808.0"),
]

READING = [
    ({"var": ["a", 5]}, {"a": None}, None),  # a default is for an absent key only
    ({"var": ["b", 5]}, {"a": 1}, 5),
    ({"var": ["a.b", 5]}, {"a": 1}, 5),
    ({"var": "a.b"}, {"a.b": 1}, None),  # a dotted name is a path, never a flat key
    ({"var": ["a", {"+": ["abc"]}]}, {"a": 1}, 1),  # the default is not evaluated
    ({"missing": ["a", "b"]}, {"a": None}, ["b"]),  # a null is present
    ({"missing_some": [1, ["a", "b"]]}, {"c": 1}, ["a", "b"]),
    ({"if": [{"missing": "a"}, "no", A]}, {"a": 0}, 0),
    ({"!": [{"var": ""}]}, {"a": 0}, False),  # the record is truthy when it has a key
]

CONTROL = [
    ({"if": []}, {"a": 1}, None),
    ({"if": [A]}, {"a": 7}, 7),
    ({"if": [A, "x"]}, {"a": 0}, None),
    ({"if": [A, "x", B, "y", "z"]}, {"a": "", "b": "0"}, "y"),
    ({"if": [A, {"+": ["abc"]}, "no"]}, {"a": 0}, "no"),  # the branch not taken is not evaluated
    ({"and": [A, B]}, {"a": 1, "b": "x"}, "x"),  # the deciding operand
    ({"and": [A, B]}, {"a": 0, "b": "x"}, 0),
    ({"or": [A, B]}, {"a": "", "b": None}, None),
    ({"or": [A, {"+": ["abc"]}]}, {"a": 1}, 1),
    ({"and": []}, {"a": 1}, None),  # the vectors say false; datalogic says null (see DEVIATIONS)
    ({"!": [A, {"+": ["abc"]}]}, {"a": 0}, True),  # first operand only
    ({"==": [A, []]}, {"a": 1}, ERROR),  # a list against a scalar
    ({"===": [A, []]}, {"a": 1}, False),
]

TABLES = {
    "truthiness": TRUTHINESS,
    "loose equality": LOOSE_EQUALITY,
    "ordering": ORDERING,
    "arithmetic": ARITHMETIC,
    "zero divisor": ZERO_DIVISOR,
    "min, max, in, cat": MIN_MAX_IN_CAT,
    "reading a row": READING,
    "control": CONTROL,
}
CASES = [(name, *case) for name, table in TABLES.items() for case in table]


@pytest.mark.parametrize(
    ("table", "rule", "record", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_documented_semantics_hold_on_both_paths(table, rule, record, expected):
    """datalogic-py gives the documented answer, and so does the compiled column (or it defers)."""
    reference = scalar(rule, record)
    if expected is INEXACT:  # the engine answers; the compiler must defer the row, not differ
        assert compiled_rows(rule, one_row_frame(record)) == [INEXACT]
        return
    assert same_answer(reference, expected), (rule, record, reference)
    assert same_answer(compiled_rows(rule, one_row_frame(record))[0], expected)


def test_engine_truthy_helper_reads_text_as_json():
    """Engine.truthy('0') is False because a str argument is JSON text, while the string "0" is truthy
    in an evaluation: the compiler follows evaluations, never the helper."""
    assert ENGINE.truthy("0") is False
    assert scalar({"!!": [A]}, {"a": "0"}) is True


def test_cat_formats_floats_as_the_engine_or_defers():
    """Random decimals in `cat`: equal text where not deferred; rounded amounts are never deferred."""
    rng = random.Random(5)
    uniform = [rng.uniform(-1, 1) * 10 ** rng.uniform(-9, 16) for _ in range(3000)]
    money = [round(rng.uniform(-1e7, 1e7), rng.randint(0, 3)) for _ in range(3000)]
    for values, max_deferred in ((uniform, 0.3), (money, 0.0)):
        frame = pl.DataFrame({"a": values})
        compiled = compile_logic({"cat": [A]}, frame.schema)
        out = frame.select(compiled.value, compiled.inexact)
        deferred = 0
        for value, (text, inexact) in zip(values, out.iter_rows(), strict=True):
            if inexact:
                deferred += 1
            else:
                assert text == scalar({"cat": [A]}, {"a": value}), value
        assert deferred <= max_deferred * len(values)
