"""What changed between two versions of a rule, at the level of its conditions, in plain words.

"minimum age: 18 → 21", "amount: $5,000 → $5,500", "county list: + Plumas". A condition of the
eligibility that compares one input with a value is matched across the versions by the input and
the comparison, so a changed threshold reads as one change; any other condition is matched by its
text, and one that is not found on the other side is listed as added or removed. Changed words are
marked, for a template to highlight. Nothing here trusts a document's shape (a stored version may
have failed lint): what is not recognised is compared as text.
"""

import difflib

from .readable import (
    MAX_CHILDREN,
    compact_json,
    condition_text,
    expression_text,
    money_text,
    number_text,
)

MAX_CHANGES = 200  # changes listed before "… and N more"
MAX_ITEMS = 50  # added or removed items of one list named

# Top-level facts of a document, in the order they are listed, and how each is written.
_FACTS = (
    ("title", "title", "text"),
    ("program", "program", "text"),
    ("fund", "fund", "text"),
    ("valid_from", "in force from", "text"),
    ("valid_to", "in force until", "text"),
    ("amount", "amount", "money"),
    ("max_payment", "largest payment to one person", "money"),
    ("budget_cap", "budget cap", "money"),
    ("cost", "drafter’s cost estimate", "money"),
)

# A comparison of an input with a value, as "<input> <op> <value>": how the threshold is named.
_THRESHOLDS = {
    ">=": "minimum {name}",
    ">": "{name} above",
    "<=": "maximum {name}",
    "<": "{name} below",
    "==": "{name} must be",
    "===": "{name} must be",
    "!=": "{name} must not be",
    "!==": "{name} must not be",
}
# The same comparison written the other way round ("<value> <op> <input>").
_FLIPPED = {">=": "<=", ">": "<", "<=": ">=", "<": ">", "==": "==", "===": "===", "!=": "!=", "!==": "!=="}


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _value_text(value, kind="text"):
    if value is None:
        return "not given"
    if kind == "money" and _is_number(value):
        return money_text(value)
    if _is_number(value):
        return number_text(value)
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return compact_json(value)


def _input_name(node):
    """`age` for {"var": "age"} or {"var": ["age", 0]}; None for anything else."""
    if isinstance(node, dict) and len(node) == 1 and "var" in node:
        name = node["var"]
        if isinstance(name, list) and name:
            name = name[0]
        if isinstance(name, str) and name:
            return name
    return None


def _is_literal(node):
    return not isinstance(node, (dict, list)) or (
        isinstance(node, list) and all(not isinstance(item, (dict, list)) for item in node)
    )


def _condition_key(condition):
    """How a condition is matched across versions, its label, and its value (text or list of items)."""
    if isinstance(condition, dict) and len(condition) == 1:
        ((operator, args),) = condition.items()
        if operator in _THRESHOLDS and isinstance(args, list) and len(args) == 2:
            left, right = args
            name, value, op = _input_name(left), right, operator
            if name is None:
                name, value, op = _input_name(right), left, _FLIPPED[operator]
            if name is not None and _is_literal(value) and not isinstance(value, list):
                return ("threshold", name, op), _THRESHOLDS[op].format(name=name), _value_text(value)
        if operator in ("<", "<=") and isinstance(args, list) and len(args) == 3:
            low, middle, high = args
            name = _input_name(middle)
            if name is not None and _is_literal(low) and _is_literal(high):
                bounds = "inclusive" if operator == "<=" else "exclusive"
                label = f"{name} between ({bounds})"
                return ("between", name, operator), label, f"{_value_text(low)} to {_value_text(high)}"
        if operator == "in" and isinstance(args, list) and len(args) == 2:
            name, options = _input_name(args[0]), args[1]
            if name is not None and isinstance(options, list) and _is_literal(options):
                return ("in", name), f"{name} list", [_value_text(item) for item in options]
    text = condition_text(condition)
    return ("condition", text), "condition", text


def _conditions(logic):
    """The conditions ALL of which the eligibility requires (one when it is not an `and`)."""
    if isinstance(logic, dict) and len(logic) == 1 and isinstance(logic.get("and"), list):
        return logic["and"][:MAX_CHILDREN]
    return [logic]


def word_marks(before, after):
    """The two texts as segments [{"text", "changed"}], the words that differ marked changed."""
    old, new = before.split(" "), after.split(" ")
    before_parts, after_parts = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        changed = tag != "equal"
        if i2 > i1:
            before_parts.append({"text": " ".join(old[i1:i2]), "changed": changed})
        if j2 > j1:
            after_parts.append({"text": " ".join(new[j1:j2]), "changed": changed})
    return _spaced(before_parts), _spaced(after_parts)


def _spaced(parts):
    """Put back the spaces between segments (a template prints them side by side)."""
    for part in parts[:-1]:
        part["text"] += " "
    return parts


def _changed(what, before, after):
    before_marks, after_marks = word_marks(before, after)
    return {"kind": "changed", "what": what, "before": before_marks, "after": after_marks, "text": ""}


def _listed(kind, what, text):
    return {"kind": kind, "what": what, "before": [], "after": [], "text": text}


def _list_change(what, before, after):
    """A list's items added and removed: "county list: + Plumas, − Lane"."""
    added = [item for item in after if item not in before]
    removed = [item for item in before if item not in after]
    if not added and not removed:
        if before != after:
            return [_listed("changed", what, "same items, in another order")]
        return []
    return [
        {
            "kind": "list",
            "what": what,
            "before": [],
            "after": [],
            "text": "",
            "added": added[:MAX_ITEMS],
            "removed": removed[:MAX_ITEMS],
            "more": max(len(added) - MAX_ITEMS, 0) + max(len(removed) - MAX_ITEMS, 0),
        }
    ]


def _eligibility_changes(old, new):
    if old is None or new is None:
        if old is new:
            return []
        return [_changed("who is eligible", _whole(old), _whole(new))]
    old_keys = [_condition_key(c) for c in _conditions(old)]
    new_keys = [_condition_key(c) for c in _conditions(new)]
    before = {key: (label, value) for key, label, value in old_keys}
    after = {key: (label, value) for key, label, value in new_keys}
    changes = []
    for key, label, value in old_keys:
        if key not in after:
            changes.append(_listed("removed", label, value if isinstance(value, str) else ", ".join(value)))
        elif after[key][1] != value:
            if isinstance(value, list):
                changes.extend(_list_change(label, value, after[key][1]))
            else:
                changes.append(_changed(label, value, after[key][1]))
    for key, label, value in new_keys:
        if key not in before:
            changes.append(_listed("added", label, value if isinstance(value, str) else ", ".join(value)))
    return changes


def _whole(logic):
    return "not given" if logic is None else condition_text(logic)


def _fact_changes(old, new):
    changes = []
    for key, label, kind in _FACTS:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        changes.append(_changed(label, _fact_text(before, kind), _fact_text(after, kind)))
    return changes


def _fact_text(value, kind):
    """A fact's value; an amount written as a formula reads as the formula."""
    return expression_text(value) if isinstance(value, dict) else _value_text(value, kind)


def _names(value):
    if not isinstance(value, list):
        return [] if value is None else [_value_text(value)]
    return [_value_text(item) for item in value]


def _citations(value):
    items = value if isinstance(value, list) else ([] if value is None else [value])
    return [_value_text(item.get("citation", item)) if isinstance(item, dict) else _value_text(item) for item in items]


def plain_changes(old, new):
    """The changes from document `old` to document `new`, each one line a person can read.

    Each is {"kind": changed|added|removed|list, "what", "before"/"after" (word segments),
    "text", and for a list "added"/"removed"}; the list is capped at MAX_CHANGES, with a last
    {"kind": "more"} line counting the rest.
    """
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}
    changes = _fact_changes(old, new)
    changes += _eligibility_changes(old.get("eligibility"), new.get("eligibility"))
    if _names(old.get("inputs")) != _names(new.get("inputs")):
        changes += _list_change("inputs read", _names(old.get("inputs")), _names(new.get("inputs")))
    if _citations(old.get("authority")) != _citations(new.get("authority")):
        changes += _list_change("legal authority", _citations(old.get("authority")), _citations(new.get("authority")))
    if old.get("tests") != new.get("tests"):
        count = len(new["tests"]) if isinstance(new.get("tests"), list) else 0
        changes.append(_listed("changed", "tests", f"the rule’s own tests changed ({count} now)"))
    if len(changes) > MAX_CHANGES:
        rest = len(changes) - MAX_CHANGES
        changes = [*changes[:MAX_CHANGES], _listed("more", "", f"… and {rest:,} more changes")]
    return changes
