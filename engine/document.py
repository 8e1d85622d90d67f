"""The rule document: strict parsing, canonical form, content hash and schema.

Strict means: at most 1 MiB of UTF-8, an object at the top, no duplicate keys, no NaN or
Infinity, no number a double cannot hold (1e400, or an integer of more than 309 digits), no lone
surrogates. The canonical form sorts keys and
drops insignificant whitespace; the content hash is the SHA-256 of its UTF-8 bytes.
"""

import hashlib
import json
import math
import re
from collections.abc import Iterable
from datetime import date
from typing import Any, NoReturn

import jsonschema

from .errors import InvalidDocument

MAX_DOCUMENT_BYTES = 1024 * 1024
# The longest integer a double can hold is 309 digits (1.8e308); a longer one is refused before Python reads it.
MAX_INTEGER_DIGITS = 309
SLUG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,99}$"
# Words the portal's own addresses use where a rule's identifier goes (/rules/upload/): a rule by
# that name could never be reached, so none may take it.
RESERVED_RULE_IDS = frozenset({"upload"})

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["rule"],
    "additionalProperties": False,
    "properties": {
        "rule": {"type": "string", "pattern": SLUG_PATTERN},
        "title": {"type": "string", "maxLength": 300},
        "program": {"type": "string", "pattern": SLUG_PATTERN},
        "authority": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["citation"],
                "properties": {"citation": {"type": "string", "minLength": 1}, "url": {"type": "string"}},
                "additionalProperties": False,
            },
        },
        "fund": {"type": "string", "minLength": 1, "maxLength": 50},
        "valid_from": {"type": "string", "format": "date"},
        "valid_to": {"type": "string", "format": "date"},
        "inputs": {"type": "array", "items": {"type": "string", "minLength": 1}, "uniqueItems": True},
        "eligibility": {},
        "amount": {},
        "max_payment": {"type": "number", "minimum": 0},
        "budget_cap": {"type": "number", "minimum": 0},
        "cost": {"type": "number", "minimum": 0},
        "tests": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["citizen", "expect"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "citizen": {"type": "object"},
                    "expect": {
                        "type": "object",
                        "additionalProperties": False,
                        "minProperties": 1,
                        "properties": {"eligible": {"type": "boolean"}, "amount": {"type": "number"}},
                    },
                },
            },
        },
    },
}

_VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen = dict(pairs)
    if len(seen) != len(pairs):
        keys: set[str] = set()
        for key, _ in pairs:
            if key in keys:
                raise InvalidDocument(f"Duplicate key {key!r}: every key may appear only once in an object.")
            keys.add(key)
    return seen


def _refuse_constant(name: str) -> NoReturn:
    raise InvalidDocument(f"{name} is not a JSON number; use a finite number.")


class _NumberOutOfRange(Exception):
    """A number literal a double cannot hold; parse_strict says where it is."""

    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e400: Python reads it as inf, and parse_constant never sees it
        raise _NumberOutOfRange(literal)
    return value


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _NumberOutOfRange(literal)
    value = int(literal)
    try:
        float(value)  # the simulation computes in doubles
    except OverflowError:
        raise _NumberOutOfRange(literal) from None
    return value


# A string (skipped whole, escapes included) or a number, as JSON writes them.
_STRING_OR_NUMBER = re.compile(r'"(?:[^"\\]|\\.)*"|(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)')


def _out_of_range(text: str, literal: str) -> InvalidDocument:
    """The refusal of a number a double cannot hold, at its line and column.

    The parser reads numbers in document order and stops at the first such one, and the text is
    valid JSON up to it, so its first occurrence outside a string is where it is.
    """
    index = next((m.start(1) for m in _STRING_OR_NUMBER.finditer(text) if m.group(1) == literal), 0)
    line, column = _position(text, index)
    digits = len(literal.lstrip("-"))
    shown = literal if len(literal) <= 20 else f"{literal[:10]}…, {digits:,} digits"
    message = (
        f"Not valid JSON: the number at line {line}, column {column} ({shown}) is too large; "
        "a number must be finite and at most about 1.8e308."
    )
    return InvalidDocument(message, details={"line": line, "column": column})


def _check_text(value: Any, path: str = "$") -> None:
    """Refuse lone surrogates and NUL characters anywhere, keys included (iteratively: no recursion)."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            _check_string(item, where)
        elif isinstance(item, dict):
            for key, child in item.items():
                _check_string(key, where)
                stack.append((child, f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{index}]") for index, child in enumerate(item))


def _check_string(text: str, path: str) -> None:
    if "\x00" in text:
        raise InvalidDocument(
            f"Text at {path} contains a NUL character (\\u0000), which is not allowed.", details={"path": path}
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidDocument(
            f"Text at {path} contains a lone surrogate (invalid Unicode).", details={"path": path}
        ) from None


def parse_strict(raw: object, *, limit: int = MAX_DOCUMENT_BYTES) -> dict[str, Any]:
    """Parse text or bytes into a dict, or raise InvalidDocument saying what is wrong and where.

    `limit` is the most bytes accepted: 1 MiB for a rule document and most request bodies."""
    if not isinstance(raw, (bytes, str)):
        raise InvalidDocument("The document must be sent as JSON text.")
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidDocument("The document contains a lone surrogate (invalid Unicode).") from None
    if len(raw) > limit:
        raise InvalidDocument(f"The document is {len(raw):,} bytes; the limit is {limit:,} bytes ({_size(limit)}).")
    if not raw.strip():
        raise InvalidDocument("The document is empty.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDocument(f"The document is not valid UTF-8 (byte {exc.start}).") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    # Python's own number parsing where no literal can be out of range (most bodies): much faster.
    checked = _may_be_out_of_range(raw)
    value = _read_plainly(raw, text, checked)
    if value is not _UNREAD:
        return value
    try:
        value = _loads(text, checked, object_pairs_hook=_refuse_duplicates)
    except _NumberOutOfRange as exc:
        raise _out_of_range(text, exc.literal) from None
    except json.JSONDecodeError as exc:
        raise _syntax_error(text, exc) from None
    except RecursionError:
        raise InvalidDocument("The document is nested too deeply to read.") from None
    except ValueError as exc:  # not expected past the number checks; never a 500
        raise InvalidDocument(f"Not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise InvalidDocument(f"The document must be a JSON object at the top level, not {type(value).__name__}.")
    if b"\\" in raw and _MAY_HOLD_NUL_OR_SURROGATE.search(text):
        _check_text(value)
    return value


def _loads(text: str, checked: bool, **hook: Any) -> Any:
    """json.loads refusing NaN and ±Infinity, and, when `checked`, every number a double cannot hold."""
    return json.loads(
        text,
        parse_constant=_refuse_constant,
        parse_float=_finite_float if checked else None,
        parse_int=_bounded_int if checked else None,
        **hook,
    )


_UNREAD = object()


def _read_plainly(raw: bytes, text: str, checked: bool) -> Any:
    """The document read without the duplicate-key hook, which builds a list of pairs per object and costs
    about half of reading a large body; _UNREAD when this way cannot vouch for it.

    Outside strings a colon follows each key written and nothing else, so the objects read hold as many
    keys as the text has colons only when no duplicate was dropped (and no string holds a colon). Text where
    some colon does not follow a quote (a space before it), or with an escape (which may write a NUL or a
    lone surrogate), is not tried. Whatever is not vouched for, refusals included, is read again the careful
    way, so it is answered exactly as before, in the same words."""
    colons = raw.count(b":")
    if colons != raw.count(b'":') or b"\\" in raw:
        return _UNREAD
    found = 0

    def counted(read: dict[str, Any]) -> dict[str, Any]:
        nonlocal found
        found += len(read)
        return read

    try:
        value = _loads(text, checked, object_hook=counted)
    except (InvalidDocument, _NumberOutOfRange, ValueError, RecursionError):
        return _UNREAD
    return value if found == colons and isinstance(value, dict) else _UNREAD


# Only these can make a number a double cannot hold: 200 digits in a row, or an exponent of 3 digits or more
# (with at most 199 digits before it an exponent under 100 stays below 1e299). Looked for in the bytes with
# every digit read as 0, E as e, and signs left out (so "e000" also finds e+000 and e-000): a byte table and
# two substring searches, far faster than a regex here. Leaving signs out can only find more, never less; a
# shape found where no number is out of range only sends the text through the checking number parsers.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789E", b"000000000e")
_OUT_OF_RANGE_SHAPES = (b"0" * 200, b"e000")


def _may_be_out_of_range(raw: bytes) -> bool:
    shapes = raw.translate(_DIGITS_AS_ZERO, b"+-")
    return any(shape in shapes for shape in _OUT_OF_RANGE_SHAPES)


# Decoded UTF-8 holds neither a NUL (JSON refuses a raw one in a string) nor a lone surrogate: only an
# escape can write one. Without such an escape the walk over every string is skipped.
_MAY_HOLD_NUL_OR_SURROGATE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit:,} bytes"


# Where Python's parser stops when an object or an array ends right after a comma.
_AFTER_COMMA = ("Expecting property name enclosed in double quotes", "Expecting value")


def _syntax_error(text: str, exc: json.JSONDecodeError) -> InvalidDocument:
    """A parse error at the mistake, not where the parser noticed it.

    The parser stops after the mistake in two common cases: a trailing comma (`"cost": 5,` then
    `}`) is noticed at the closing bracket, and a comma missing at the end of a line at the next
    line's first value. Both are reported where the comma is, or belongs.
    """
    end = len(text[: exc.pos].rstrip())  # just past the last character before the parser's position
    closing = text[exc.pos : exc.pos + 1]
    if exc.msg in _AFTER_COMMA and closing in ("}", "]") and end and text[end - 1] == ",":
        line, column = _position(text, end - 1)
        last = "member of an object" if closing == "}" else "item of an array"
        message = (
            f"Not valid JSON: a trailing comma at line {line}, column {column}: JSON allows no comma after "
            f"the last {last}, before its {closing}. Remove the comma."
        )
    elif exc.msg == "Expecting ',' delimiter" and "\n" in text[end : exc.pos]:
        line, column = _position(text, end)
        message = f"Not valid JSON: a comma is missing at line {line}, column {column}, at the end of the line."
    else:
        line, column = exc.lineno, exc.colno
        message = f"Not valid JSON: {exc.msg} at line {line}, column {column}."
    return InvalidDocument(message, details={"line": line, "column": column})


def _position(text: str, index: int) -> tuple[int, int]:
    """Line and column (from 1, in characters) of `index` in `text`, as the JSON parser counts them."""
    line = text.count("\n", 0, index) + 1
    return line, index - text.rfind("\n", 0, index)


def canonical_text(document: dict[str, Any]) -> str:
    """Sorted keys, no insignificant whitespace, UTF-8 text."""
    try:
        return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except RecursionError:
        raise InvalidDocument("The document is nested too deeply to read.") from None


def content_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_canonical(text: str) -> dict[str, Any]:
    """Read back a stored canonical document (already strictly parsed once)."""
    return json.loads(text)


def json_path(parts: Iterable[int | str]) -> str:
    path = "$"
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def schema_errors(document: dict[str, Any]) -> list[tuple[str, str]]:
    """Schema violations as (json_path, message) pairs, in document order."""
    errors = sorted(_VALIDATOR.iter_errors(document), key=lambda e: list(map(str, e.absolute_path)))
    return [(json_path(e.absolute_path), _plain_message(e)) for e in errors]


def _plain_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "required":
        return f"A required field is missing: {error.message.split(' is a required')[0]}."
    if error.validator == "additionalProperties":
        return f"Unknown field: {error.message.split('(')[-1].rstrip(')')}."
    if error.validator == "pattern" and error.absolute_path and error.absolute_path[-1] in ("rule", "program"):
        return "Must be lower-case letters, digits, '-' or '_', starting with a letter or digit (at most 100)."
    if error.validator == "format":
        return f"{error.instance!r} is not a date in the form YYYY-MM-DD."
    return error.message[:300]


def validity(document: dict[str, Any]) -> tuple[date | None, date | None]:
    """A rule's valid_from and valid_to as dates (None where it gives none); lint has checked their form."""

    def read(key: str) -> date | None:
        value = document.get(key)
        return date.fromisoformat(value) if isinstance(value, str) else None

    return read("valid_from"), read("valid_to")


def why_not_in_force(valid_from: date | None, valid_to: date | None, on: date) -> str | None:
    """Why a rule with these dates is not in force on `on` (both ends count), or None when it is."""
    if valid_from is not None and on < valid_from:
        return f"Not in force on {on.isoformat()}: this version applies from {valid_from.isoformat()}."
    if valid_to is not None and on > valid_to:
        return f"Not in force on {on.isoformat()}: this version applied until {valid_to.isoformat()}."
    return None
