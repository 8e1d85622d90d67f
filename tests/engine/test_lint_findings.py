"""engine/lint.py: each finding code, with its severity and JSON path."""

import json

import pytest

from engine import population
from engine.lint import lint_document
from tests.conftest import document

COLUMNS = population.generate(1).columns


def doc(**changes):
    return json.loads(document(**changes))


def codes(findings):
    return [(f["code"], f["severity"], f["path"]) for f in findings]


def test_the_example_has_no_findings():
    """The wildfire example lints clean against the population's columns."""
    assert lint_document(doc(), columns=COLUMNS) == []


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"rule": "Wildfire Aid"}, "$.rule"),
        ({"max_payment": -1}, "$.max_payment"),
        ({"valid_from": "1 Sept 2024"}, "$.valid_from"),
        ({"tests": [{"citizen": {}, "expect": {"eligible": "yes"}}]}, "$.tests[0].expect.eligible"),
        ({"authority": [{"url": "https://example.org"}]}, "$.authority[0]"),
        ({"colour": "red"}, "$"),
        ({"rule": None}, "$"),
    ],
)
def test_schema_violation_is_reported_at_its_path(changes, path):
    """A schema violation is a SCHEMA error at the path of the offending part, and stops lint there."""
    findings = lint_document(doc(**changes), columns=COLUMNS)
    assert codes(findings) == [("SCHEMA", "error", path)]


def test_schema_messages_are_plain():
    """Missing and unknown fields are named in plain words."""
    (missing,) = lint_document({"title": "x"})
    assert missing["message"] == "A required field is missing: 'rule'."
    (unknown,) = lint_document({"rule": "a", "colour": "red"})
    assert "Unknown field" in unknown["message"] and "colour" in unknown["message"]


@pytest.mark.parametrize(
    ("part", "logic", "code", "path"),
    [
        ("eligibility", {"and": [{"log": 1}]}, "LOGIC_OPERATOR", "$.eligibility.and[0].log"),
        ("amount", {"+": [1], "-": [2]}, "LOGIC_OBJECT", "$.amount"),
        ("eligibility", {"var": "__proto__"}, "LOGIC_VAR_INTERNAL", "$.eligibility.var"),
        ("amount", {"var": {"cat": ["a", "ge"]}}, "LOGIC_VAR_DYNAMIC", "$.amount.var"),
        ("amount", {"var": ["age", 1, 2]}, "LOGIC_VAR_ARGS", "$.amount.var"),
        ("amount", {"+": list(range(10_001))}, "LOGIC_TOO_LARGE", "$.amount"),
    ],
)
def test_logic_problem_is_an_error_at_its_path(part, logic, code, path):
    """A logic problem in eligibility or amount is an error at its path, and stops lint there."""
    findings = lint_document(doc(**{part: logic}), columns=COLUMNS)
    assert codes(findings) == [(code, "error", path)]


def test_logic_too_deep_is_an_error():
    """Logic deeper than 64 levels is LOGIC_TOO_DEEP."""
    tree = {"var": "age"}
    for _ in range(40):
        tree = {"!": [tree]}
    findings = lint_document(doc(eligibility=tree), columns=COLUMNS)
    assert [(f["code"], f["severity"]) for f in findings] == [("LOGIC_TOO_DEEP", "error")]
    assert findings[0]["path"].startswith("$.eligibility.![0].![0]")


def test_no_eligibility_is_a_warning_and_no_cost_an_error():
    """Without eligibility logic: a NO_ELIGIBILITY warning, and a NO_COST error when no cost is declared."""
    with_cost = lint_document({"rule": "a", "max_payment": 5000, "cost": 9.8e7}, columns=COLUMNS)
    assert ("NO_ELIGIBILITY", "warning", "$") in codes(with_cost)
    assert "NO_COST" not in [f["code"] for f in with_cost]
    without_cost = lint_document({"rule": "a", "max_payment": 5000}, columns=COLUMNS)
    assert ("NO_ELIGIBILITY", "warning", "$") in codes(without_cost)
    assert ("NO_COST", "error", "$.cost") in codes(without_cost)


def test_input_not_declared():
    """A variable the logic reads but `inputs` omits is INPUT_NOT_DECLARED at $.inputs, naming it."""
    findings = lint_document(doc(inputs=["age", "in_fire_zone"]), columns=COLUMNS)
    assert codes(findings) == [("INPUT_NOT_DECLARED", "error", "$.inputs")]
    assert "'home_damaged'" in findings[0]["message"]


def test_input_unused():
    """A declared input the logic never reads is INPUT_UNUSED at its index in $.inputs."""
    findings = lint_document(doc(inputs=["age", "veteran", "in_fire_zone", "home_damaged"]), columns=COLUMNS)
    assert codes(findings) == [("INPUT_UNUSED", "error", "$.inputs[1]")]
    assert "'veteran'" in findings[0]["message"]


def test_input_not_in_population():
    """A variable that is not a column of the population is INPUT_NOT_IN_POPULATION."""
    eligibility = {"and": [{">=": [{"var": "age"}, 18]}, {"==": [{"var": "owns_boat"}, True]}]}
    findings = lint_document(doc(eligibility=eligibility, inputs=["age", "owns_boat"], tests=None), columns=COLUMNS)
    assert ("INPUT_NOT_IN_POPULATION", "error", "$.inputs") in codes(findings)
    assert "'owns_boat'" in [f for f in findings if f["code"] == "INPUT_NOT_IN_POPULATION"][0]["message"]
    assert lint_document(doc(eligibility=eligibility, inputs=["age", "owns_boat"], tests=None), columns=None) == [
        f for f in findings if f["code"] != "INPUT_NOT_IN_POPULATION"
    ]


def test_validity_window_must_start_before_it_ends():
    """valid_from on or after valid_to is VALIDITY_WINDOW at $.valid_to."""
    assert codes(lint_document(doc(valid_from="2025-08-31", valid_to="2025-08-31"), columns=COLUMNS)) == [
        ("VALIDITY_WINDOW", "error", "$.valid_to")
    ]
    assert codes(lint_document(doc(valid_from="2026-01-01"), columns=COLUMNS)) == [
        ("VALIDITY_WINDOW", "error", "$.valid_to")
    ]
    assert lint_document(doc(valid_from="2025-08-30"), columns=COLUMNS) == []


def test_test_expecting_more_than_max_payment():
    """An embedded test expecting more than max_payment is TEST_ABOVE_MAX_PAYMENT at its expect.amount."""
    tests = json.loads(document())["tests"]
    tests[1] = {
        "name": "greedy",
        "citizen": {"age": 40, "in_fire_zone": True, "home_damaged": True},
        "expect": {"amount": 5001},
    }
    findings = lint_document(doc(tests=tests), columns=COLUMNS)
    assert codes(findings) == [("TEST_ABOVE_MAX_PAYMENT", "error", "$.tests[1].expect.amount")]
    assert "'greedy'" in findings[0]["message"]


def test_failing_embedded_test():
    """An embedded test whose expectation is not met is TEST_FAILED at $.tests[i], saying what differed."""
    tests = json.loads(document())["tests"]
    tests[2]["expect"] = {"eligible": True, "amount": 5000}
    findings = lint_document(doc(tests=tests), columns=COLUMNS)
    assert codes(findings) == [("TEST_FAILED", "error", "$.tests[2]")]
    assert "expected eligible, got not eligible" in findings[0]["message"]
    assert "expected amount 5,000, got 0.00" in findings[0]["message"]


def test_no_tests_is_information():
    """A rule without embedded tests gets NO_TESTS as information, not an error."""
    assert codes(lint_document(doc(tests=None), columns=COLUMNS)) == [("NO_TESTS", "info", "$")]
    assert codes(lint_document(doc(tests=[]), columns=COLUMNS)) == [("NO_TESTS", "info", "$")]


def test_findings_carry_code_severity_message_and_path():
    """Every finding is a dict of exactly code, severity, message and path."""
    findings = lint_document({"rule": "a", "max_payment": 5000}, columns=COLUMNS)
    assert findings
    for found in findings:
        assert set(found) == {"code", "severity", "message", "path"}
        assert found["message"]
