"""portal/presenters/docdiff.py: a document beside the version live in production, line by line."""

import json

import pytest

from engine.document import canonical_text, parse_strict
from portal.presenters.docdiff import CONTEXT, MAX_LINES, compare, path_lines, pretty_text, side_by_side, summary
from tests.conftest import EXAMPLES, WILDFIRE


def lines(*items):
    return "\n".join(items)


def kinds(rows):
    return [row["kind"] for row in rows]


def test_identical_texts_collapse_to_one_row():
    """Nothing changed: a single row counts the unchanged lines."""
    text = lines(*[f"line {i}" for i in range(10)])
    rows = side_by_side(text, text)
    assert kinds(rows) == ["collapsed"]
    assert rows[0]["count"] == 10
    assert rows[0]["text"] == "… 10 unchanged lines …"


def test_added_line_has_no_left_side():
    """A line only in the new text is 'added', numbered on the right only."""
    rows = side_by_side(lines("a", "b"), lines("a", "new", "b"))
    assert kinds(rows) == ["same", "added", "same"]
    added = rows[1]
    assert added == {"kind": "added", "left_no": None, "left": None, "right_no": 2, "right": "new"}
    assert rows[2]["left_no"] == 2 and rows[2]["right_no"] == 3


def test_removed_line_has_no_right_side():
    """A line only in the old text is 'removed', numbered on the left only."""
    rows = side_by_side(lines("a", "gone", "b"), lines("a", "b"))
    assert kinds(rows) == ["same", "removed", "same"]
    assert rows[1] == {"kind": "removed", "left_no": 2, "left": "gone", "right_no": None, "right": None}


def test_replaced_lines_pair_up_and_the_rest_is_added():
    """Two old lines replaced by three new: two 'changed' rows side by side, one 'added'."""
    rows = side_by_side(lines("a", "x1", "x2", "b"), lines("a", "y1", "y2", "y3", "b"))
    assert kinds(rows) == ["same", "changed", "changed", "added", "same"]
    assert (rows[1]["left"], rows[1]["right"]) == ("x1", "y1")
    assert (rows[1]["left_no"], rows[1]["right_no"]) == (2, 2)
    assert rows[3]["right"] == "y3" and rows[3]["left"] is None
    assert summary(rows) == {"added": 1, "removed": 0, "changed": 2, "same": 2}


def test_long_unchanged_runs_keep_three_lines_of_context():
    """Unchanged lines between changes collapse, keeping CONTEXT lines on each side of a change."""
    old = [f"line {i}" for i in range(40)]
    new = list(old)
    new[5] = "changed 5"
    new[30] = "changed 30"
    rows = side_by_side(lines(*old), lines(*new))
    assert kinds(rows) == (
        ["collapsed"]
        + ["same"] * CONTEXT
        + ["changed"]
        + ["same"] * CONTEXT
        + ["collapsed"]
        + ["same"] * CONTEXT
        + ["changed"]
        + ["same"] * CONTEXT
        + ["collapsed"]
    )
    assert rows[0]["count"] == 5 - CONTEXT
    assert rows[CONTEXT + 1]["left"] == "line 5" and rows[CONTEXT + 1]["right"] == "changed 5"
    middle = rows[2 * CONTEXT + 2]
    assert middle["count"] == 30 - 5 - 1 - 2 * CONTEXT
    assert middle["text"] == f"… {middle['count']} unchanged lines …"
    assert rows[-1]["count"] == 40 - 31 - CONTEXT
    assert summary(rows) == {"added": 0, "removed": 0, "changed": 2, "same": 38}


def test_short_unchanged_runs_are_not_collapsed():
    """Collapsing a run that would hide one line or none shows the lines instead."""
    old = ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
    new = ["A", "b", "c", "d", "e", "f", "g", "h", "I"]  # 7 unchanged lines between: 3 + 1 + 3
    rows = side_by_side(lines(*old), lines(*new))
    assert "collapsed" not in kinds(rows)


def test_compare_nothing_in_production():
    """No production version: nothing to compare."""
    assert compare(None, "{}", old_label=None, new_label="v1") is None


def test_compare_identical_documents():
    """The same text: state 'same', no rows."""
    text = pretty_text(WILDFIRE)
    result = compare(text, text, old_label="v1", new_label="v1")
    assert result["state"] == "same"
    assert "rows" not in result


def test_compare_pretty_documents_shows_the_changed_field():
    """Changing one field of the canonical pretty form gives one changed line and a caption."""
    old = pretty_text(WILDFIRE)
    new = pretty_text({**WILDFIRE, "budget_cap": 150000000})
    result = compare(old, new, old_label="v1", new_label="v2")
    assert result["state"] == "changed"
    assert result["caption"] == "Changes from v1 in production to v2"
    changed = [row for row in result["rows"] if row["kind"] == "changed"]
    assert [(row["left"], row["right"]) for row in changed] == [
        ('  "budget_cap": 120000000,', '  "budget_cap": 150000000,')
    ]
    assert result["summary"]["changed"] == 1 and result["summary"]["added"] == 0
    assert any(row["kind"] == "collapsed" for row in result["rows"])


def test_pretty_text_sorts_keys_like_the_canonical_form():
    """The compared text has sorted keys and two-space indents."""
    text = pretty_text({"rule": "x", "amount": 1})
    assert text == '{\n  "amount": 1,\n  "rule": "x"\n}'


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.name)
def test_pretty_text_matches_the_standard_indented_form(path):
    """The pretty form is byte for byte what json.dumps(indent=2, sort_keys=True) gives."""
    document = json.loads(path.read_text())
    odd = {**document, "empty": {}, "none": [], "ünï": ["é", None, True, 1.5, {"z": 1, "a": [[]]}]}
    for value in (document, odd, [], {}, 5, "x"):
        assert pretty_text(value) == json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def test_pretty_text_of_the_deepest_storable_document():
    """A document nested as deeply as parsing allows is printed without running out of stack."""
    from engine.errors import InvalidDocument

    deepest = None
    for levels in range(100, 2000, 50):
        try:
            document = parse_strict('{"rule":"x","e":' + "[" * levels + "]" * levels + "}")
            canonical_text(document)
        except InvalidDocument:
            break
        deepest, deepest_levels = document, levels
    text = pretty_text(deepest)
    assert text.count("[") == deepest_levels
    assert text.count("]") == deepest_levels


def test_compare_refuses_documents_too_long_to_diff():
    """Beyond the line limit the comparison says so instead of running."""
    big = "\n".join(str(i) for i in range(MAX_LINES + 5))
    result = compare("{}", big, old_label="v1", new_label="v2")
    assert result["state"] == "too_large"
    assert result["lines"] == MAX_LINES + 5


def conditions(count, changed=()):
    return {"and": [{"==": [{"var": f"v{(i + 1) % 7 if i in changed else i % 7}"}, i % 3]} for i in range(count)]}


def test_repetitive_large_documents_diff_to_the_lines_that_changed():
    """In a long, repetitive document (braces, the same few variables) only the edited lines differ."""
    old = pretty_text(conditions(2_000))
    new = pretty_text(conditions(2_000, changed={10, 900, 1_990}))
    result = compare(old, new, old_label="v1", new_label="v2")
    assert result["summary"] == {"added": 0, "removed": 0, "changed": 3, "same": 16_001}
    assert len(result["rows"]) < 40


def test_inserted_condition_in_a_long_list_is_added_lines_only():
    """A condition inserted into the middle of a long list shows as added lines, not a rewrite."""
    document = conditions(2_000)
    old = pretty_text(document)
    document["and"].insert(1_000, {">=": [{"var": "age"}, 18]})
    result = compare(old, pretty_text(document), old_label="v1", new_label="v2")
    assert result["summary"]["changed"] == 0 and result["summary"]["removed"] == 0
    assert result["summary"]["added"] == 8


def test_opcodes_rebuild_the_new_text_from_the_old():
    """Whatever the inputs, the rows describe the old text turning into the new one."""
    import random

    from portal.presenters.docdiff import opcodes

    generator = random.Random(7)
    for _ in range(500):
        old = [generator.choice("{}ab") for _ in range(generator.randint(0, 40))]
        new = [generator.choice("{}ab") for _ in range(generator.randint(0, 40))]
        rebuilt, position = [], (0, 0)
        for tag, i1, i2, j1, j2 in opcodes(old, new):
            assert (i1, j1) == position
            if tag == "equal":
                assert old[i1:i2] == new[j1:j2]
            rebuilt.extend(new[j1:j2])
            position = (i2, j2)
        assert position == (len(old), len(new))
        assert rebuilt == new


def test_path_lines_point_at_the_line_each_path_starts_on():
    """Each JSON path maps to the line of the indented document where its value begins."""
    doc = {"rule": "x", "eligibility": {"and": [{">=": [{"var": "age"}, 18]}, True]}, "tags": []}
    lines = pretty_text(doc).split("\n")
    where = path_lines(doc)
    assert where["$"] == 1
    assert lines[where["$.eligibility"] - 1].strip() == '"eligibility": {'
    assert lines[where["$.eligibility.and[1]"] - 1].strip() == "true"
    assert lines[where["$.eligibility.and[0]"] - 1].strip() == "{"
    assert lines[where["$.eligibility.and[0].>=[0].var"] - 1].strip() == '"var": "age"'
    assert lines[where["$.tags"] - 1].strip() == '"tags": []'
    assert lines[where["$.rule"] - 1].strip() == '"rule": "x",'
