"""portal/presenters/readable.py: a rule document in plain language, and the partial that shows it."""

import json
import re

import pytest
from django.template.loader import render_to_string

from portal.presenters.readable import (
    MAX_DEPTH,
    describe_document,
    document_context,
    flatten,
    logic_tree,
    one_line,
)
from tests.conftest import EXAMPLES, WILDFIRE

TIERED = json.loads((EXAMPLES / "wildfire-recovery-tiered.json").read_text())


def var(name, *default):
    return {"var": [name, *default]} if default else {"var": name}


@pytest.mark.parametrize(
    ("logic", "text"),
    [
        ({">=": [var("age"), 18]}, "age ≥ 18"),
        ({">": [var("age"), 18]}, "age > 18"),
        ({"<": [var("age"), 65]}, "age < 65"),
        ({"<=": [var("income"), 40000]}, "income ≤ 40,000"),
        ({"==": [var("fire_zone"), True]}, "fire_zone is true"),
        ({"==": [True, var("fire_zone")]}, "fire_zone is true"),
        ({"!=": [var("county"), "Shasta"]}, "county is not “Shasta”"),
        ({"==": [var("household_size"), 4]}, "household_size = 4"),
        ({"!=": [var("household_size"), 4]}, "household_size ≠ 4"),
        ({"===": [var("insured"), False]}, "insured is exactly false"),
        ({"!==": [var("insured"), None]}, "insured is not exactly null"),
        ({"<=": [18, var("age"), 65]}, "18 ≤ age ≤ 65"),
        ({"<": [18, var("age"), 65]}, "18 < age < 65"),
        ({"in": [var("county"), ["Shasta", "Butte"]]}, "county is one of Shasta, Butte"),
        ({"in": [var("county"), ["Lake, North", ""]]}, "county is one of “Lake, North”, “”"),
        ({"in": ["fire", var("causes")]}, "“fire” is in causes"),
        ({"in": [var("code"), "ABC"]}, "code appears in “ABC”"),
        ({"*": [var("income"), 0.1]}, "income × 0.1"),
        ({"*": [{"+": [var("a"), 1]}, 2]}, "(a + 1) × 2"),
        ({"+": [var("a"), {"*": [var("b"), 2]}]}, "a + b × 2"),
        ({"-": [var("a"), {"-": [var("b"), 1]}]}, "a − (b − 1)"),
        ({"-": [var("a")]}, "−a"),
        ({"/": [var("income"), 100]}, "income ÷ 100"),
        ({"%": [var("age"), 2]}, "age mod 2"),
        ({"+": ["3"]}, "the number “3”"),
        ({"+": [var("household_size", 1), 2]}, "household_size (or 1 if missing) + 2"),
        (var("household_size", 1), "household_size (or 1 if missing) is set"),
        (var("home_damaged"), "home_damaged is set"),
        ({"var": [""]}, "the whole citizen record is set"),
        ({"!!": [var("veteran")]}, "veteran is set"),
        ({"!": [var("insured")]}, "NOT insured is set"),
        ({"!": var("insured")}, "NOT insured is set"),
        ({"missing": ["age"]}, "age is missing"),
        ({"missing": ["age", "income"]}, "any of age, income is missing"),
        ({"missing_some": [1, ["phone", "email"]]}, "fewer than 1 of phone, email are given"),
        ({"cat": ["Dear ", var("name")]}, "the text “Dear ” followed by name"),
        ({"min": [var("a"), 4]}, "the smaller of a and 4"),
        ({"max": [var("a"), var("b"), 0]}, "the largest of a, b, 0"),
        (
            {"and": [{">=": [var("age"), 18]}, var("in_fire_zone")]},
            "age ≥ 18 AND in_fire_zone is set",
        ),
        (
            {"and": [{">=": [var("age"), 18]}, {"or": [var("a"), {"<": [var("income"), 30000]}]}]},
            "age ≥ 18 AND (a is set OR income < 30,000)",
        ),
        ({"!": {"and": [var("a"), var("b")]}}, "NOT (a is set AND b is set)"),
        ({"if": [var("a"), 1, 2]}, "IF a is set THEN 1 ELSE 2"),
        ({"if": [var("a"), 1, var("b"), 2]}, "IF a is set THEN 1 ELSE IF b is set THEN 2 ELSE null"),
        ({"if": [5]}, "5"),
        ({"if": []}, "null"),
        (True, "true"),
        (5000, "5,000"),
        (2.5, "2.5"),
        (1e8, "100,000,000"),
        ("text", "“text”"),
        ([1, "a"], "[1, “a”]"),
    ],
)
def test_one_line(logic, text):
    """Every operator of the subset reads as plain text, with parentheses only where needed."""
    assert one_line(logic) == text


@pytest.mark.parametrize(
    "logic",
    [
        {"frobnicate": [1, 2]},
        {"a": 1, "b": 2},
        {},
        {">": [1, 2, 3]},
        {"<": [1]},
        {"var": [1, 2, 3]},
        {"var": {"x": 1}},
        {"missing": [{"var": "x"}]},
        {"missing_some": ["x", ["a"]]},
        {"and": []},
        {"/": [1, 2, 3]},
    ],
)
def test_what_is_not_recognised_is_shown_as_json(logic):
    """Unknown operators and forms an operator does not take fall back to the compact JSON."""
    text = one_line(logic)
    assert text == json.dumps(logic, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def test_unknown_operator_inside_known_logic_is_json_only_there():
    """Only the part not recognised is shown as JSON."""
    logic = {"and": [{">=": [var("age"), 18]}, {"regex": [var("name"), "^A"]}]}
    assert one_line(logic) == 'age ≥ 18 AND {"regex":[{"var":"name"},"^A"]}'


def test_one_line_is_cut_to_the_limit():
    """A long condition is cut with an ellipsis at the limit."""
    logic = {"and": [{">=": [var(f"column_{i}"), i]} for i in range(100)]}
    text = one_line(logic, limit=60)
    assert len(text) == 60
    assert text.endswith("…")
    assert text.startswith("column_0 ≥ 0 AND column_1 ≥ 1")


def test_eligibility_tree_nests_all_any_not():
    """and → ALL of, or → ANY of, ! → NOT, comparisons become conditions."""
    tree = logic_tree(TIERED["eligibility"])
    assert tree["kind"] == "all"
    assert tree["text"] == "ALL of"
    age, zone, either = tree["children"]
    assert (age["kind"], age["text"]) == ("condition", "age ≥ 18")
    assert zone["text"] == "in_fire_zone is true"
    assert either["kind"] == "any"
    assert [c["text"] for c in either["children"]] == ["home_damaged is set", "income < 30,000"]

    negated = logic_tree({"!": [{"or": [var("a"), var("b")]}]})
    assert negated["kind"] == "not"
    assert negated["children"][0]["kind"] == "any"


def test_amount_tree_has_if_then_else_branches():
    """`if` becomes IF / THEN / ELSE IF / ELSE branches; values read as arithmetic."""
    tree = logic_tree(TIERED["amount"], as_condition=False)
    assert tree["kind"] == "if"
    labels = [branch["text"] for branch in tree["children"]]
    assert labels == ["IF", "THEN", "ELSE IF", "THEN", "ELSE"]
    inner = tree["children"][1]["children"][0]
    assert inner["kind"] == "if"
    assert inner["children"][-1]["children"][0]["text"] == "5,000 + 500 × the smaller of household_size − 1 and 4"
    assert tree["children"][3]["children"][0]["text"] == "1,500 − income ÷ 100"
    assert tree["children"][4]["children"][0]["text"] == "800"


def test_flatten_opens_and_closes_every_list():
    """The flat form opens a list after each group and closes each exactly once."""
    items = flatten(logic_tree(TIERED["amount"], as_condition=False))
    opened = sum(1 for item in items if item["opens"])
    closed = sum(len(item["closes"]) for item in items)
    assert opened == closed
    first = items[1]
    assert (first["label"], first["text"]) == ("IF", "home_damaged is set")  # a branch of one condition: one line
    assert items[-1]["label"] == "ELSE" and items[-1]["text"] == "800"


def test_describe_document_gives_facts_and_figures():
    """Title, program, validity, inputs, authority and money figures come out as plain text."""
    described = describe_document(WILDFIRE)
    assert described["rule"] == "wildfire-aid-2024"
    assert described["title"] == WILDFIRE["title"]
    assert described["program"] == "disaster-relief"
    assert described["validity"] == "from 2024-09-01 to 2025-08-31"
    assert described["inputs"] == ["age", "in_fire_zone", "home_damaged"]
    assert described["eligibility"]["line"] == "age ≥ 18 AND in_fire_zone is true AND home_damaged is true"
    assert described["amount"] == {"figure": "$5,000"}
    figures = {f["label"]: f["value"] for f in described["figures"]}
    assert figures == {
        "Largest payment to one person": "$5,000",
        "Budget cap for the rule": "$120,000,000",
        "Drafter’s cost estimate": "$98,000,000",
    }
    assert described["authority"][0]["citation"].startswith("Wildfire Relief Act")


def test_describe_minimal_document():
    """Without logic or dates: no eligibility tree, the amount is the maximum payment, always in force."""
    described = describe_document({"rule": "wildfire_aid", "max_payment": 5000, "cost": 9.8e7})
    assert described["eligibility"] is None
    assert described["amount"]["figure"].startswith("$5,000")
    assert described["validity"] == "no dates given: always in force"
    assert described["inputs"] is None
    assert {"label": "Drafter’s cost estimate", "value": "$98,000,000"} in described["figures"]


def deep(levels):
    logic = {">=": [var("age"), 18]}
    for _ in range(levels):
        logic = {"!": [logic]}
    return logic


@pytest.mark.parametrize(
    "doc",
    [
        {"rule": "x", "eligibility": deep(450)},
        {"rule": "x", "eligibility": {"and": [{"==": [var(f"v{i}"), i]} for i in range(20_000)]}},
        {"rule": "x", "eligibility": {"or": [{"and": [var("a")] * 300}] * 300}},
        {"rule": "x", "eligibility": {"+": list(range(50_000))}},
        {"rule": "x", "eligibility": {"in": [var("c"), list(range(50_000))]}},
        {"rule": "x", "eligibility": {"if": [True] * 5_001}},
        {"rule": "x", "eligibility": "yes", "amount": [1, {"a": 1}], "inputs": "age", "title": 7},
        {"rule": ["x"], "valid_from": 5, "authority": [1, {"url": "javascript:alert(1)"}], "tests": {}},
        {"rule": "x", "max_payment": 10**4000, "cost": -1.5, "budget_cap": "lots"},
        {"rule": "x", "amount": {"var": ["a", {"var": ["b", {"var": "c"}]}]}},
        {"rule": "x", "eligibility": None, "amount": None},
        {"rule": "x", "eligibility": {"var": True}},
        {"rule": "x", "eligibility": {"var": []}},
        {"rule": "x", "eligibility": {"missing_some": [1, "a"]}},
        {"rule": "x", "eligibility": {"<": [var("a"), {"<": "b"}]}},
    ],
)
def test_hostile_documents_do_not_crash(doc):
    """Documents stored with failed lint still render, as a bounded page."""
    context = document_context(doc, "v2", None, None)
    html = render_to_string("rules/_document.html", {"document": context})
    assert "The document of v2" in html
    assert len(html[: html.index("<details")]) < 300_000  # all but the raw document itself


def test_deep_nesting_is_cut_at_the_depth_limit():
    """Past the depth limit the tree says how deep it goes instead of walking on."""
    items = flatten(logic_tree(deep(200)))
    assert items[-1]["text"] == f"… (nested deeper than {MAX_DEPTH} levels)"
    assert max(item["depth"] for item in items) <= MAX_DEPTH
    assert f"nested deeper than {MAX_DEPTH} levels" in one_line(deep(200), limit=10_000)


def test_long_lists_are_summarised():
    """A group with thousands of conditions shows the first ones and counts the rest."""
    tree = logic_tree({"and": [{"==": [var(f"v{i}"), i]} for i in range(1_000)]})
    assert tree["children"][-1]["text"] == "… and 800 more"


def test_only_web_links_are_kept_in_the_authority():
    """A citation's url is a link only when it is http(s)."""
    described = describe_document(
        {
            "rule": "x",
            "authority": [
                {"citation": "A", "url": "javascript:alert(1)"},
                {"citation": "B", "url": "https://law.example/b"},
            ],
        }
    )
    assert described["authority"] == [{"citation": "A", "url": ""}, {"citation": "B", "url": "https://law.example/b"}]


# ---------------------------------------------------------------------------------------------
# The partial


def render(version_doc, label="v2", production_doc=None, production_label=None):
    context = document_context(version_doc, label, production_doc, production_label)
    return render_to_string("rules/_document.html", {"document": context})


def text_of(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_partial_shows_conditions_figures_diff_and_raw_document():
    """The page shows the nested conditions, the figures, a captioned diff table and the raw JSON."""
    changed = {**WILDFIRE, "max_payment": 6000, "amount": 6000}
    html = render(changed, "v2", WILDFIRE, "v1")
    text = text_of(html)
    assert "ALL of" in text
    assert "age ≥ 18" in text
    assert "in_fire_zone is true" in text
    assert "$6,000" in text
    assert "<caption>Changes from v1 in production to v2</caption>" in html
    assert "2 lines changed, 0 added, 0 removed" in text
    assert 'class="usa-table-container--scrollable" tabindex="0"' in html
    assert "changed from:" in html and "changed to:" in html
    assert "<details" in html and "&quot;max_payment&quot;: 6000" in html
    assert html.count("<ul") == html.count("</ul>")
    assert html.count("<li") == html.count("</li>")
    assert "<h2" not in html and "<h3" in html


def test_partial_nested_lists_balance_for_deep_amount_logic():
    """IF/THEN/ELSE nested in lists: every list opened is closed, in order."""
    html = render(TIERED)
    assert html.count("<ul") == html.count("</ul>")
    assert html.count("<li") == html.count("</li>")
    text = text_of(html)
    assert "ELSE IF income &lt; 20,000" in text
    assert "ANY of" in text


def test_partial_when_nothing_is_live_in_production():
    """Without a production version the page says there is nothing to compare with."""
    html = render(WILDFIRE, "v1")
    assert "Nothing of this rule is live in production" in html
    assert "<table" not in html


def test_partial_when_this_is_the_production_version():
    """The version live in production is said to be so, with no diff table."""
    html = render(WILDFIRE, "v3", WILDFIRE, "v3")
    assert "v3 is the version live in production." in html
    assert "<table" not in html
    other = render(WILDFIRE, "v4", WILDFIRE, "v3")
    assert "Identical to v3, the version live in production." in other


def test_partial_escapes_what_the_document_says():
    """Names and text from the document are escaped, never markup."""
    hostile = {
        "rule": "x",
        "title": "<b>bold</b>",
        "inputs": ["<script>"],
        "eligibility": {"and": [{"==": [var("<script>"), "<img src=x onerror=alert(1)>"]}, {"<evil>": 1}]},
    }
    html = render(hostile, "v2", {"rule": "x", "title": "<i>old</i>"}, "v1")
    assert "<script>" not in html
    assert "<img" not in html and "<b>bold" not in html and "<evil>" not in html
    assert "&lt;script&gt; is “&lt;img src=x onerror=alert(1)&gt;”" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_partial_ids_are_unique():
    """No id appears twice in the partial."""
    html = render({**WILDFIRE, "amount": 10}, "v2", WILDFIRE, "v1")
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
