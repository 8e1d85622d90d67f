"""engine/logic/validate.py: the JSON Logic subset, its limits and the variables it reads."""

import pytest

from engine.logic.validate import MAX_DEPTH, MAX_NODES, SUBSET, analyse

SUBSET_EXAMPLES = {
    "var": {"var": "age"},
    "missing": {"missing": ["age"]},
    "missing_some": {"missing_some": [1, ["age", "income"]]},
    "if": {"if": [True, 1, 2]},
    "and": {"and": [True, False]},
    "or": {"or": [True, False]},
    "!": {"!": [True]},
    "!!": {"!!": [1]},
    "==": {"==": [1, 1]},
    "===": {"===": [1, 1]},
    "!=": {"!=": [1, 2]},
    "!==": {"!==": [1, 2]},
    "<": {"<": [1, 2]},
    "<=": {"<=": [1, 2, 3]},
    ">": {">": [2, 1]},
    ">=": {">=": [2, 1]},
    "+": {"+": [1, 2]},
    "-": {"-": [3, 1]},
    "*": {"*": [2, 3]},
    "/": {"/": [6, 3]},
    "%": {"%": [7, 3]},
    "min": {"min": [1, 2]},
    "max": {"max": [1, 2]},
    "in": {"in": ["a", ["a", "b"]]},
    "cat": {"cat": ["a", "b"]},
}


def test_examples_cover_the_whole_subset():
    """Every operator of the subset has an example below (and nothing outside it)."""
    assert set(SUBSET_EXAMPLES) == set(SUBSET)


@pytest.mark.parametrize("operator", sorted(SUBSET_EXAMPLES))
def test_subset_operator_is_accepted(operator):
    """Each operator of the subset passes, alone and nested in another."""
    assert analyse(SUBSET_EXAMPLES[operator]).ok
    assert analyse({"and": [True, SUBSET_EXAMPLES[operator]]}).ok


@pytest.mark.parametrize(
    "operator", ["log", "map", "filter", "reduce", "all", "some", "none", "merge", "substr", "method", "?:"]
)
def test_operator_outside_the_subset_is_refused_with_its_path(operator):
    """An operator outside the subset is a LOGIC_OPERATOR problem at its JSON path."""
    tree = {"and": [{">=": [{"var": "age"}, 18]}, {"if": [True, {operator: [1]}, 0]}]}
    analysis = analyse(tree, "$.eligibility")
    assert [(p.code, p.path) for p in analysis.problems] == [
        ("LOGIC_OPERATOR", f"$.eligibility.and[1].if[1].{operator}")
    ]
    assert repr(operator) in analysis.problems[0].message


def test_object_with_two_operators_is_refused():
    """An operation has exactly one key."""
    analysis = analyse({"or": [{"==": [1, 1], "!=": [1, 2]}]}, "$.amount")
    assert [(p.code, p.path) for p in analysis.problems] == [("LOGIC_OBJECT", "$.amount.or[0]")]


def wrapped(wrappers):
    """`wrappers` levels of {"!": [...]} (a dict and a list each) around a var with a default."""
    tree = {"var": ["age", 0]}
    for _ in range(wrappers):
        tree = {"!": [tree]}
    return tree


def test_depth_at_the_limit_is_accepted():
    """A tree exactly 64 levels deep passes."""
    analysis = analyse(wrapped(31))  # 62 wrapper levels, the var at 63, its default at 64
    assert analysis.ok
    assert analysis.depth == MAX_DEPTH


def test_depth_over_sixty_four_is_refused():
    """One level more than 64 is LOGIC_TOO_DEEP, at the path where the limit was passed."""
    analysis = analyse(wrapped(32), "$.eligibility")
    assert [p.code for p in analysis.problems] == ["LOGIC_TOO_DEEP"]
    assert analysis.problems[0].path == "$.eligibility" + ".![0]" * 32  # the var itself, at 65


def test_very_deep_tree_is_refused_without_recursion():
    """Even 50,000 levels are walked without recursion and refused."""
    analysis = analyse(wrapped(50_000))
    assert [p.code for p in analysis.problems] == ["LOGIC_TOO_DEEP"]


def test_more_than_ten_thousand_nodes_is_refused():
    """A wide tree over 10,000 nodes is LOGIC_TOO_LARGE, reported at the root."""
    assert analyse({"+": list(range(MAX_NODES - 2))}).ok  # root dict + list + items = MAX_NODES
    analysis = analyse({"+": list(range(MAX_NODES))}, "$.amount")
    assert [(p.code, p.path) for p in analysis.problems] == [("LOGIC_TOO_LARGE", "$.amount")]


@pytest.mark.parametrize(
    "name", ["__proto__", "constructor", "_x", "a.__class__", "constructor.prototype", "person._secret", "prototype"]
)
def test_var_into_internals_is_refused(name):
    """Variable names reaching into object internals are refused, in var, missing and missing_some."""
    for tree in ({"var": name}, {"var": [name, 0]}, {"missing": [name]}, {"missing_some": [1, [name]]}):
        analysis = analyse({"!": [tree]}, "$.eligibility")
        assert [p.code for p in analysis.problems] == ["LOGIC_VAR_INTERNAL"], tree
        assert analysis.problems[0].path.startswith("$.eligibility.![0].")
        assert name not in analysis.variables


def test_computed_var_name_is_refused():
    """A var whose name is computed cannot be checked against the inputs."""
    analysis = analyse({"var": {"cat": ["a", "ge"]}}, "$.amount")
    assert [(p.code, p.path) for p in analysis.problems] == [("LOGIC_VAR_DYNAMIC", "$.amount.var")]


def test_var_with_too_many_arguments_is_refused():
    """var takes a name and at most a default."""
    assert [p.code for p in analyse({"var": ["a", 1, 2]}).problems] == ["LOGIC_VAR_ARGS"]


def test_variables_are_collected_from_var_missing_and_missing_some():
    """Every variable read is collected, including dotted paths, numeric names and those inside defaults."""
    tree = {
        "if": [
            {"missing": ["home_damaged", "in_fire_zone"]},
            0,
            {"missing_some": [1, ["income", "household_size"]]},
            0,
            {"*": [{"var": ["household_size", {"var": "default_size"}]}, {"var": "address.zip"}, {"var": 0}]},
        ]
    }
    analysis = analyse(tree)
    assert analysis.ok
    assert analysis.variables == {
        "home_damaged",
        "in_fire_zone",
        "income",
        "household_size",
        "default_size",
        "address.zip",
        "0",
    }


def test_missing_with_single_name_and_whole_record_var():
    """`missing` with one bare name reads it; `var ""` reads no single column."""
    assert analyse({"missing": "age"}).variables == {"age"}
    assert analyse({"var": ""}).variables == set()
    assert analyse({"var": ""}).ok
