"""A rule document in plain language: its facts, its logic as nested conditions, its figures.

A stored document may have failed lint, so nothing here trusts its shape: any field may hold
any JSON value, operators may be unknown, nesting may be deep and lists long. Whatever is not
recognised is shown as compact JSON of that part, and every walk is capped (depth, parts shown,
length of a line), so a hostile document renders as a short page instead of an error.
"""

import json
import math

from engine.figures import money

from .docdiff import compare, pretty_text

MAX_DEPTH = 50  # levels of logic shown before "… (nested deeper than 50 levels)"
MAX_PARTS = 2_000  # parts of one logic tree shown before the rest is summarised
MAX_CHILDREN = 200  # conditions of one ALL/ANY shown before "… and N more"
MAX_TEXT = 400  # characters of one condition's text
MAX_ARGS = 50  # operands of one expression rendered inline
MAX_LITERAL = 80  # characters of one literal value
MAX_RAW_TEXT = 3_000_000  # characters of the indented raw document shown

TOO_DEEP = f"… (nested deeper than {MAX_DEPTH} levels)"

# Binding strength of inline text, to put parentheses only where they are needed.
_ATOM, _PRODUCT, _SUM, _COMPARE, _NOT, _AND, _OR, _IF = 100, 70, 60, 50, 40, 30, 20, 10

_ORDER = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}
_PRODUCT_OPS = {"*": "×", "/": "÷", "%": "mod"}


def _clip(text, limit):
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def compact_json(value, limit=MAX_TEXT):
    """Compact JSON of any value, cut to `limit` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        text = "(nested too deeply to show here; see the raw document)"
    return _clip(text, limit)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number_text(value):
    """`40000` → `40,000`; `0.1` → `0.1`; a 4,000-digit integer is cut short."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return _clip(f"{value:,}", MAX_LITERAL)
    try:
        return _clip(f"{value:,}", MAX_LITERAL)
    except ValueError:  # an integer longer than Python will print
        return "a very long number"


def money_text(value):
    """A figure of the document as money: `$98,000,000` when whole, `$12.50`; anything else as JSON."""
    if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
        return compact_json(value, MAX_LITERAL)
    return _clip(money(value, cents=not (isinstance(value, int) or value.is_integer())), MAX_LITERAL)


def _literal(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if _is_number(value):
        return number_text(value)
    if isinstance(value, str):
        return "“" + _clip(value, MAX_LITERAL) + "”"
    return compact_json(value, MAX_LITERAL)


def _plain_item(value):
    """An item of an "is one of" list: a plain word as written, anything else quoted."""
    if isinstance(value, str) and value and value == value.strip() and "," not in value:
        return _clip(value, MAX_LITERAL)
    return _literal(value)


def _as_args(args):
    # JSON Logic's shorthand: a single operand may be written without its list.
    return args if isinstance(args, list) else [args]


def _is_operation(node):
    return isinstance(node, dict) and len(node) == 1


def _join(texts, separator, *, total=None):
    """Join rendered operands, stopping once the line is long enough."""
    out, length = [], 0
    for text in texts:
        out.append(text)
        length += len(text) + len(separator)
        if length > MAX_TEXT:
            break
    shown = separator.join(out)
    count = total if total is not None else len(out)
    if len(out) < count:
        shown += f"{separator}… ({count - len(out):,} more)"
    return shown


def _names(values):
    return _join((_plain_item(v) for v in values[:MAX_ARGS]), ", ", total=len(values))


# ---------------------------------------------------------------------------------------------
# One expression as one line of text


def _text(node, depth):
    """(text, strength) for any value; strength decides where parentheses go."""
    if depth > MAX_DEPTH:
        return TOO_DEEP, _ATOM
    if isinstance(node, list):
        inner = _join((_text(item, depth + 1)[0] for item in node[:MAX_ARGS]), ", ", total=len(node))
        return f"[{inner}]", _ATOM
    if not isinstance(node, dict):
        return _literal(node), _ATOM
    if not _is_operation(node):
        return compact_json(node), _ATOM
    ((operator, args),) = node.items()
    render = _OPERATORS.get(operator)
    text = render(args, depth) if render else None
    if text is None:  # unknown operator, or a known one written in a form it does not take
        return compact_json(node), _ATOM
    return text


def _operand(node, depth, strength):
    """An operand's text, in parentheses when it binds more loosely than its context."""
    text, own = _text(node, depth + 1)
    return f"({text})" if own < strength else text


def _test(node, depth, strength):
    """An operand used for its truth: a bare variable reads "x is set"."""
    if _is_operation(node) and "var" in node:
        named = _var(node["var"], depth + 1)
        if named is not None:
            text = f"{named[0]} is set"
            return f"({text})" if _COMPARE < strength else text
    return _operand(node, depth, strength)


def _var(args, depth):
    items = args if isinstance(args, list) else [args]
    if not items or len(items) > 2:
        return None
    name = items[0]
    if name is None or name == "" or name == []:
        return "the whole citizen record", _ATOM
    if _is_number(name):
        name = number_text(name)
    if not isinstance(name, str):
        return None
    name = _clip(name, MAX_LITERAL)
    if len(items) == 2:
        default, _ = _text(items[1], depth + 1)
        return f"{name} (or {default} if missing)", _ATOM
    return name, _ATOM


def _equality(negated, strict):
    def render(args, depth):
        if not isinstance(args, list) or len(args) != 2:
            return None
        left, right = args
        if _is_operation(right) and not _is_operation(left):
            left, right = right, left  # "age = 18" reads better than "18 = age"
        plain = any(v is None or isinstance(v, (bool, str)) for v in (left, right))
        if strict:
            word = "is not exactly" if negated else "is exactly"
        elif plain:
            word = "is not" if negated else "is"
        else:
            word = "≠" if negated else "="
        return f"{_operand(left, depth, _SUM)} {word} {_operand(right, depth, _SUM)}", _COMPARE

    return render


def _order(operator):
    symbol = _ORDER[operator]

    def render(args, depth):
        if not isinstance(args, list):
            return None
        if len(args) == 2 or (len(args) == 3 and operator in ("<", "<=")):
            return f" {symbol} ".join(_operand(a, depth, _SUM) for a in args), _COMPARE
        return None

    return render


def _truthy(args, depth):
    items = _as_args(args)
    if len(items) != 1:
        return None
    return f"{_operand(items[0], depth, _SUM)} is set", _COMPARE


def _not(args, depth):
    items = _as_args(args)
    if len(items) != 1:
        return None
    return f"NOT {_test(items[0], depth, _NOT)}", _NOT


def _connective(word, strength):
    def render(args, depth):
        items = _as_args(args)
        if not items:
            return None
        texts = (_test(item, depth, strength + 1) for item in items[:MAX_ARGS])
        return _join(texts, f" {word} ", total=len(items)), strength

    return render


def _if(args, depth):
    items = _as_args(args)
    if not items:
        return "null", _ATOM
    if len(items) == 1:
        return _text(items[0], depth + 1)
    parts = []
    for index in range(0, len(items) - 1, 2):
        keyword = "IF" if index == 0 else "ELSE IF"
        parts.append(f"{keyword} {_test(items[index], depth, _OR)} THEN {_operand(items[index + 1], depth, _OR)}")
        if index >= MAX_ARGS:
            parts.append("…")
            break
    else:
        otherwise = items[-1] if len(items) % 2 else None
        parts.append(f"ELSE {_operand(otherwise, depth, _OR)}")
    return _join(parts, " "), _IF


def _sum(args, depth):
    items = _as_args(args)
    if not items:
        return None
    if len(items) == 1:
        return f"the number {_operand(items[0], depth, _ATOM)}", _ATOM
    texts = (_operand(item, depth, _SUM) for item in items[:MAX_ARGS])
    return _join(texts, " + ", total=len(items)), _SUM


def _minus(args, depth):
    items = _as_args(args)
    if len(items) == 1:
        return f"−{_operand(items[0], depth, _ATOM)}", _PRODUCT
    if len(items) != 2:
        return None
    return f"{_operand(items[0], depth, _SUM)} − {_operand(items[1], depth, _PRODUCT)}", _SUM


def _product(operator):
    symbol = _PRODUCT_OPS[operator]

    def render(args, depth):
        items = _as_args(args)
        if operator == "*" and len(items) >= 2:
            texts = (_operand(item, depth, _PRODUCT) for item in items[:MAX_ARGS])
            return _join(texts, f" {symbol} ", total=len(items)), _PRODUCT
        if len(items) != 2:
            return None
        return f"{_operand(items[0], depth, _PRODUCT)} {symbol} {_operand(items[1], depth, _PRODUCT + 1)}", _PRODUCT

    return render


def _extreme(small, large):
    def render(args, depth):
        items = _as_args(args)
        if not items:
            return None
        if len(items) == 1:
            return _text(items[0], depth + 1)
        texts = [_operand(item, depth, _SUM) for item in items[:MAX_ARGS]]
        if len(items) == 2:
            return f"the {small} of {texts[0]} and {texts[1]}", _ATOM
        return f"the {large} of {_join(texts, ', ', total=len(items))}", _ATOM

    return render


def _in(args, depth):
    if not isinstance(args, list) or len(args) != 2:
        return None
    needle, haystack = args
    subject = _operand(needle, depth, _SUM)
    if isinstance(haystack, list) and not any(_is_operation(item) for item in haystack):
        return f"{subject} is one of {_names(haystack)}", _COMPARE
    if isinstance(haystack, str):
        return f"{subject} appears in {_literal(haystack)}", _COMPARE
    return f"{subject} is in {_operand(haystack, depth, _SUM)}", _COMPARE


def _missing(args, depth):
    names = _as_args(args)
    if not names:
        return None
    if not all(isinstance(n, str) for n in names):
        return None
    if len(names) == 1:
        return f"{_plain_item(names[0])} is missing", _COMPARE
    return f"any of {_names(names)} is missing", _COMPARE


def _missing_some(args, depth):
    if not isinstance(args, list) or len(args) != 2:
        return None
    need, names = args
    if not _is_number(need) or not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return f"fewer than {number_text(need)} of {_names(names)} are given", _COMPARE


def _cat(args, depth):
    items = _as_args(args)
    if not items:
        return "“”", _ATOM
    texts = (_operand(item, depth, _SUM) for item in items[:MAX_ARGS])
    return "the text " + _join(texts, " followed by ", total=len(items)), _ATOM


_OPERATORS = {
    "var": _var,
    "missing": _missing,
    "missing_some": _missing_some,
    "if": _if,
    "and": _connective("AND", _AND),
    "or": _connective("OR", _OR),
    "!": _not,
    "!!": _truthy,
    "==": _equality(False, False),
    "===": _equality(False, True),
    "!=": _equality(True, False),
    "!==": _equality(True, True),
    "<": _order("<"),
    "<=": _order("<="),
    ">": _order(">"),
    ">=": _order(">="),
    "+": _sum,
    "-": _minus,
    "*": _product("*"),
    "/": _product("/"),
    "%": _product("%"),
    "min": _extreme("smaller", "smallest"),
    "max": _extreme("larger", "largest"),
    "in": _in,
    "cat": _cat,
}


def expression_text(logic, limit=MAX_TEXT, *, depth=1):
    """Any JSON Logic expression (or value) as one line, cut to `limit` characters."""
    return _clip(_text(logic, depth)[0], limit)


def condition_text(logic, limit=MAX_TEXT, *, depth=1):
    """A condition as one line; a bare variable tested for truth reads "x is set"."""
    return _clip(_test(logic, depth - 1, 0), limit)


def one_line(logic, limit=200):
    """The logic as a flat one-liner for a summary: `age ≥ 18 AND in_fire_zone is true`."""
    return condition_text(logic, limit)


# ---------------------------------------------------------------------------------------------
# The logic as a tree of nested conditions


class _TreeBuilder:
    """Builds {"kind", "text", "children"} nodes; counts parts so a huge tree is cut short."""

    def __init__(self, *, as_condition):
        self.as_condition = as_condition
        self.parts = 0

    def leaf(self, text, kind="condition", *, raw=False):
        return {"kind": kind, "text": text, "children": [], "raw": raw}

    def build(self, node, depth=1, *, condition=None):
        condition = self.as_condition if condition is None else condition
        self.parts += 1
        if depth > MAX_DEPTH:
            return self.leaf(TOO_DEEP, "note")
        if self.parts > MAX_PARTS:
            return self.leaf(f"… (more than {MAX_PARTS:,} parts; the rest is in the raw document)", "note")
        if _is_operation(node):
            ((operator, args),) = node.items()
            if operator in ("and", "or"):
                items = _as_args(args)
                if items:
                    kind, text = ("all", "ALL of") if operator == "and" else ("any", "ANY of")
                    return self.group(kind, text, items, depth, condition=condition)
            elif operator == "!":
                items = _as_args(args)
                if len(items) == 1:
                    child = self.build(items[0], depth + 1, condition=True)
                    return {"kind": "not", "text": "NOT", "children": [child], "raw": False}
            elif operator == "if" and isinstance(args, list) and len(args) >= 2:
                return self.branches(args, depth, condition=condition)
            elif operator not in _OPERATORS:
                return self.leaf(compact_json(node), raw=True)
        text = condition_text(node, depth=depth) if condition else expression_text(node, depth=depth)
        # Only JSON shown as it is written starts with a brace: literals are quoted or bare.
        return self.leaf(text, raw=text.startswith("{"))

    def group(self, kind, text, items, depth, *, condition):
        children = [self.build(item, depth + 1, condition=condition) for item in items[:MAX_CHILDREN]]
        if len(items) > MAX_CHILDREN:
            children.append(self.leaf(f"… and {len(items) - MAX_CHILDREN:,} more", "note"))
        return {"kind": kind, "text": text, "children": children, "raw": False}

    def branches(self, args, depth, *, condition):
        children = []
        for index in range(0, len(args) - 1, 2):
            if index // 2 >= MAX_CHILDREN:
                children.append(self.leaf("… more branches (see the raw document)", "note"))
                break
            keyword = "IF" if index == 0 else "ELSE IF"
            children.append(self.branch(keyword, args[index], depth, condition=True))
            children.append(self.branch("THEN", args[index + 1], depth, condition=condition))
        else:
            otherwise = args[-1] if len(args) % 2 else None
            children.append(self.branch("ELSE", otherwise, depth, condition=condition))
        return {"kind": "if", "text": "Depending on:", "children": children, "raw": False}

    def branch(self, keyword, node, depth, *, condition):
        child = self.build(node, depth + 1, condition=condition)
        return {"kind": "branch", "text": keyword, "children": [child], "raw": False}


def logic_tree(logic, *, as_condition=True):
    """JSON Logic as nested nodes: `and` → ALL of, `or` → ANY of, `!` → NOT, `if` → IF/THEN/ELSE."""
    return _TreeBuilder(as_condition=as_condition).build(logic)


def flatten(tree):
    """The tree as a flat list a template can print as nested `<ul>`s without recursion.

    Each item has `label` (ALL of, ANY of, NOT, IF, THEN, ELSE…), `text`, `raw` (text is JSON),
    `opens` (a nested list follows) and `closes` (how many nested lists end after it). A NOT or
    a branch holding a single plain condition is shown on one line: "NOT x is set".
    """
    items = []
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        label, text, raw, children = node["text"], "", False, node["children"]
        if node["kind"] == "condition" or node["kind"] == "note":
            label, text, raw = "", node["text"], node.get("raw", False)
        elif node["kind"] in ("not", "branch") and len(children) == 1 and not children[0]["children"]:
            text, raw, children = children[0]["text"], children[0].get("raw", False), []
        items.append({"label": label, "text": text, "raw": raw, "opens": bool(children), "depth": depth, "closes": 0})
        stack.extend((child, depth + 1) for child in reversed(children))
    for index, item in enumerate(items):
        following = items[index + 1]["depth"] if index + 1 < len(items) else 0
        item["closes"] = range(max(item["depth"] - following, 0)) if not item["opens"] else range(0)
    return items


# ---------------------------------------------------------------------------------------------
# The whole document


def _text_field(value):
    if value is None:
        return ""
    return _clip(value, 300) if isinstance(value, str) else compact_json(value, 300)


def _validity(document):
    start, end = document.get("valid_from"), document.get("valid_to")
    start = _text_field(start) if start is not None else ""
    end = _text_field(end) if end is not None else ""
    if start and end:
        return f"from {start} to {end}"
    if start:
        return f"from {start}, with no end date"
    if end:
        return f"until {end}"
    return "no dates given: always in force"


def _authority(value):
    if value is None:
        return []
    if not isinstance(value, list):
        return [{"citation": compact_json(value, 300), "url": ""}]
    out = []
    for item in value[:MAX_ARGS]:
        if isinstance(item, dict):
            citation = _text_field(item.get("citation")) or compact_json(item, 300)
            url = item.get("url")
            safe = isinstance(url, str) and url.startswith(("https://", "http://"))
            out.append({"citation": citation, "url": url if safe else ""})
        else:
            out.append({"citation": _text_field(item), "url": ""})
    return out


def _inputs(value):
    if value is None:
        return None
    if isinstance(value, list):
        return [_text_field(item) for item in value[:MAX_CHILDREN]]
    return [compact_json(value, 300)]


def _amount(document):
    if "amount" not in document:
        if "max_payment" in document:
            return {"figure": f"{money_text(document['max_payment'])} (no amount given: the maximum payment)"}
        return {"figure": "not given"}
    amount = document["amount"]
    if _is_number(amount):
        return {"figure": money_text(amount)}
    return {"tree": logic_tree(amount, as_condition=False), "line": one_line(amount)}


_FIGURES = (
    ("max_payment", "Largest payment to one person"),
    ("budget_cap", "Budget cap for the rule"),
    ("cost", "Drafter’s cost estimate"),
)


def describe_document(doc):
    """Plain values for a template: title, program, validity, inputs, logic trees and figures."""
    if not isinstance(doc, dict):
        doc = {}
    tests = doc.get("tests")
    amount = _amount(doc)
    eligibility = None
    if "eligibility" in doc:
        eligibility = {"tree": logic_tree(doc["eligibility"]), "line": one_line(doc["eligibility"])}
    return {
        "rule": _text_field(doc.get("rule")),
        "title": _text_field(doc.get("title")),
        "program": _text_field(doc.get("program")),
        "fund": _text_field(doc.get("fund")),
        "authority": _authority(doc.get("authority")),
        "validity": _validity(doc),
        "inputs": _inputs(doc.get("inputs")),
        "eligibility": eligibility,
        "amount": amount,
        "figures": [{"label": label, "value": money_text(doc[key])} for key, label in _FIGURES if key in doc],
        "tests": len(tests) if isinstance(tests, list) else 0,
    }


def document_context(version_doc, version_label, production_doc=None, production_label=None):
    """Everything `rules/_document.html` shows for the selected version (as `document`)."""
    described = describe_document(version_doc)
    if described["eligibility"]:
        described["eligibility"]["nodes"] = flatten(described["eligibility"]["tree"])
    if "tree" in described["amount"]:
        described["amount"]["nodes"] = flatten(described["amount"]["tree"])
    text = pretty_text(version_doc)
    # A 1 MiB document can indent to many times its size; past this the raw view stays compact.
    raw = text if len(text) <= MAX_RAW_TEXT else compact_json(version_doc, len(text))
    return {
        "version": version_label,
        "production": production_label,
        "summary": described,
        "diff": compare(
            pretty_text(production_doc) if production_doc is not None else None,
            text,
            old_label=production_label,
            new_label=version_label,
        ),
        "raw": raw,
    }
