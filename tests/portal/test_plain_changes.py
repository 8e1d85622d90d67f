"""The plain-language diff: each change to a rule's conditions and figures as one line a person reads."""

import copy
import json

from portal.presenters.changes import MAX_CHANGES, plain_changes, word_marks
from tests.conftest import EXAMPLES

BASE = json.loads((EXAMPLES / "wildfire-aid-2024.json").read_text())


def _edit(**changes):
    doc = copy.deepcopy(BASE)
    doc.update(changes)
    return doc


def _line(change):
    """A change as the page reads it, without the highlighting."""
    if change["kind"] == "changed" and change["before"]:
        before = "".join(p["text"] for p in change["before"])
        after = "".join(p["text"] for p in change["after"])
        return f"{change['what']}: {before} → {after}"
    if change["kind"] == "list":
        parts = [f"+ {a}" for a in change["added"]] + [f"− {r}" for r in change["removed"]]
        return f"{change['what']}: {', '.join(parts)}"
    return f"{change['kind']} {change['what']}: {change['text']}"


def _eligibility(*conditions):
    return {"and": list(conditions)}


def test_the_same_document_has_no_changes():
    assert plain_changes(BASE, copy.deepcopy(BASE)) == []


def test_a_threshold_reads_as_its_named_limit():
    new = copy.deepcopy(BASE)
    new["eligibility"]["and"][0] = {">=": [{"var": "age"}, 21]}
    assert [_line(c) for c in plain_changes(BASE, new)] == ["minimum age: 18 → 21"]


def test_a_threshold_written_the_other_way_round_is_the_same_limit():
    old = _edit(eligibility=_eligibility({"<=": [18, {"var": "age"}]}))
    new = _edit(eligibility=_eligibility({">=": [{"var": "age"}, 21]}))
    assert [_line(c) for c in plain_changes(old, new)] == ["minimum age: 18 → 21"]


def test_the_amount_is_money():
    changes = plain_changes(BASE, _edit(amount=5500, max_payment=5500))
    assert [_line(c) for c in changes] == [
        "amount: $5,000 → $5,500",
        "largest payment to one person: $5,000 → $5,500",
    ]
    assert changes[0]["before"] == [{"text": "$5,000", "changed": True}]


def test_a_list_of_counties_names_what_was_added_and_removed():
    old = _edit(eligibility=_eligibility({"in": [{"var": "county"}, ["Lane", "Shasta"]]}))
    new = _edit(eligibility=_eligibility({"in": [{"var": "county"}, ["Shasta", "Plumas"]]}))
    assert [_line(c) for c in plain_changes(old, new)] == ["county list: + Plumas, − Lane"]


def test_conditions_added_and_removed_are_named():
    new = copy.deepcopy(BASE)
    new["eligibility"]["and"] = [
        new["eligibility"]["and"][0],
        new["eligibility"]["and"][2],
        {"<": [{"var": "income"}, 60000]},
    ]
    lines = [_line(c) for c in plain_changes(BASE, new)]
    assert lines[0].startswith("removed in_fire_zone must be: ")
    assert lines[1] == "added income below: 60,000"


def test_facts_and_inputs_and_authority():
    new = _edit(
        title="Wildfire Relief Payment 2025",
        valid_to="2026-08-31",
        inputs=["age", "in_fire_zone", "home_damaged", "income"],
        authority=[{"citation": "Wildfire Relief Act of 2025, sec. 2"}],
    )
    assert [_line(c) for c in plain_changes(BASE, new)] == [
        "title: Wildfire Relief Payment 2024 → Wildfire Relief Payment 2025",
        "in force until: 2025-08-31 → 2026-08-31",
        "inputs read: + income",
        "legal authority: + Wildfire Relief Act of 2025, sec. 2, − Wildfire Relief Act of 2024, sec. 3(a)",
    ]


def test_changed_words_are_marked():
    before, after = word_marks("Wildfire Relief Payment 2024", "Wildfire Relief Payment 2025")
    assert before == [{"text": "Wildfire Relief Payment ", "changed": False}, {"text": "2024", "changed": True}]
    assert after[-1] == {"text": "2025", "changed": True}


def test_an_amount_formula_and_a_whole_new_eligibility_are_compared_as_text():
    new = _edit(
        amount={"if": [{"var": "home_damaged"}, 5000, 1000]},
        eligibility={"or": [{"var": "in_fire_zone"}, {"var": "home_damaged"}]},
    )
    lines = [_line(c) for c in plain_changes(BASE, new)]
    assert lines[0].startswith("amount: $5,000 → ")
    assert "home_damaged" in lines[0]
    assert any(line.startswith("added condition: ") for line in lines)


def test_a_hostile_document_is_compared_without_error():
    """Any JSON at all, as a version that failed lint may hold: no exception, a capped list."""
    hostile = {"eligibility": {"and": [{"==": [{"var": f"x{i}"}, i]} for i in range(MAX_CHANGES * 2)]}}
    changes = plain_changes({"eligibility": 7, "amount": [1, {"a": None}], "inputs": "x"}, hostile)
    assert len(changes) == MAX_CHANGES + 1
    assert changes[-1]["kind"] == "more"
    assert plain_changes(None, ["not", "a", "document"]) == []
