"""engine/batch.py: a batch's columns are read once and shared by every rule, and every answer is the one
CompiledRule.decide gives, whichever way (columns or one at a time) it was reached."""

import json
import random
from pathlib import Path

import polars as pl
import pytest

from engine.batch import ColumnDecider, Columns
from engine.logic.evaluate import EvaluationError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RULES = [
    json.loads((EXAMPLES / name).read_text())
    for name in ("wildfire-aid-2024.json", "wildfire-recovery-tiered.json", "wildfire-aid-minimal.json")
]


def population(n=300, seed=5):
    rng = random.Random(seed)
    return [
        {
            "age": rng.randint(0, 90),
            "in_fire_zone": rng.random() < 0.7,
            "home_damaged": rng.random() < 0.5,
            "income": rng.randint(-5, 150_000),
            "household_size": rng.randint(1, 8),
            "insured": rng.random() < 0.4,
        }
        for _ in range(n)
    ]


def one_at_a_time(decider, citizens):
    answers = []
    for citizen in citizens:
        try:
            answers.append(decider.scalar.decide(citizen))
        except EvaluationError as exc:
            answers.append(exc)
    return answers


def same(answers, expected):
    """Equal answers, errors compared by message and amounts by type too."""
    assert len(answers) == len(expected)
    for got, want in zip(answers, expected, strict=True):
        if isinstance(want, EvaluationError):
            assert isinstance(got, EvaluationError) and str(got) == str(want)
        else:
            assert [(type(v), v) for v in got] == [(type(v), v) for v in want]


@pytest.mark.parametrize(
    "change",
    [
        {},
        {0: {"household_size": "3"}},  # text where numbers are: the whole column goes one at a time
        {7: {"income": -(10**16), "home_damaged": False}},  # a row the columns flag as inexact
        {3: {"age": None}},  # null among numbers is still a column
        {5: {"insured": 1}},  # 1 is not true
        {6: {"extra": 1}},  # a name only one citizen has, read by no rule
    ],
)
def test_rules_sharing_the_columns_answer_as_one_at_a_time(change):
    citizens = population()
    for index, values in change.items():
        citizens[index] = {**citizens[index], **values}
    deciders = [ColumnDecider(rule) for rule in RULES]
    shared = Columns(citizens)
    for decider in deciders:
        expected = one_at_a_time(decider, citizens)
        same(decider.decide(shared), expected)
        same(decider.decide(citizens), expected)


def test_a_number_past_64_bits_sends_its_column_one_at_a_time():
    citizens = population(50)
    citizens[4] = {**citizens[4], "income": 2**70}
    decider = ColumnDecider(RULES[1])  # the tiered rule reads income
    assert Columns(citizens).column("income") is None
    same(decider.decide(Columns(citizens)), one_at_a_time(decider, citizens))


def test_a_column_is_read_once_for_every_rule():
    citizens = population(20)
    shared = Columns(citizens)
    deciders = [ColumnDecider(rule) for rule in RULES]
    for decider in deciders:
        decider.decide(shared)
    first = shared.column("age")
    for decider in deciders:
        decider.decide(shared)
    assert shared.column("age") is first
    assert isinstance(first, pl.Series) and first.dtype == pl.Int64


def test_columns_say_which_names_they_can_carry():
    citizens = [{"a": 1, "b": True, "c": "x", "d": None, "e": 1.5}, {"a": 2, "b": False, "c": "y", "d": None, "e": 2}]
    columns = Columns(citizens)
    assert columns.column("a").dtype == pl.Int64
    assert columns.column("b").dtype == pl.Boolean
    assert columns.column("c").dtype == pl.String
    assert columns.column("d").dtype == pl.Null
    assert columns.column("e") is None  # a float and an int: JSON types differ
    assert columns.frame(["a", "missing", "c"]).columns == ["a", "c"]  # a name no citizen has is left out
    assert columns.frame(["a", "e"]) is None
    assert Columns([{"a": 1}, {"b": 1}]).column("a") is None  # present for some, absent for others


def test_decide_columns_gives_the_lists_and_the_errors_by_row():
    citizens = population(10)
    citizens[2] = {**citizens[2], "household_size": "three", "age": 40, "in_fire_zone": True, "home_damaged": True}
    citizens[2]["insured"] = False
    citizens = [{**c, "household_size": str(c["household_size"])} if c is not citizens[2] else c for c in citizens]
    decider = ColumnDecider(RULES[1])
    eligible, amount, errors = decider.decide_columns(Columns(citizens))
    assert list(errors) == [2] and eligible[2] is None and amount[2] is None
    expected = one_at_a_time(decider, citizens)
    assert str(errors[2]) == str(expected[2])
    assert [(e, a) for i, (e, a) in enumerate(zip(eligible, amount, strict=True)) if i != 2] == [
        answer for i, answer in enumerate(expected) if i != 2
    ]
