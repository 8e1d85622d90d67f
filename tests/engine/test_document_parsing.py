"""engine/document.py: strict parsing refuses what is not a plain, small JSON object."""

import json
import sys

import pytest

from engine.document import MAX_DOCUMENT_BYTES, parse_strict
from engine.errors import InvalidDocument


def refused(raw):
    with pytest.raises(InvalidDocument) as info:
        parse_strict(raw)
    return info.value.message


def test_plain_object_is_read():
    """A small well-formed object is returned as a dict, from text or bytes alike."""
    assert parse_strict('{"rule": "a", "n": [1, 2.5, true, null]}') == {"rule": "a", "n": [1, 2.5, True, None]}
    assert parse_strict(b'{"rule": "a"}') == {"rule": "a"}


def test_duplicate_keys_are_refused():
    """A key repeated in one object is refused, naming the key, even nested."""
    assert "'rule'" in refused(b'{"rule": "a", "rule": "b"}')
    assert "'x'" in refused(b'{"rule": "a", "eligibility": {"x": 1, "x": 2}}')


def test_same_key_in_different_objects_is_allowed():
    """Only a repeat inside one object is a duplicate."""
    assert parse_strict(b'{"a": {"x": 1}, "b": {"x": 2}}') == {"a": {"x": 1}, "b": {"x": 2}}


DUPLICATE_A = "Duplicate key 'a': every key may appear only once in an object."


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":1,"a":2}',
        b'{"list":[' + b",".join([b'{"x":1}'] * 500) + b',{"x":1,"a":0,"a":1}]}',  # deep in a large compact body
        b'{"a":":x","a":":y"}',  # strings that begin with a colon
        b'{"t":"12:30","a":1,"a":2}',  # a colon inside a string
        b'{"e":"\\"q\\"","a":1,"a":2}',  # an escape
        b'{"a" : 1, "a" : 2}',  # a space before the colon
    ],
)
def test_duplicate_keys_are_refused_however_the_text_is_written(raw):
    """A repeated key is refused in the same words, whatever the spacing, strings and escapes around it."""
    assert refused(raw) == DUPLICATE_A


def test_a_large_compact_body_reads_as_json_does():
    """What the quick reading of a body without duplicates gives is what json.loads gives."""
    value = {
        "date": "2025-01-15",
        "citizens": [
            {"account_id": f"a{i}", "citizen": {"age": i, "x": 1.5, "ok": True, "n": None, "name": "é", "l": [1, {}]}}
            for i in range(500)
        ],
    }
    raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert parse_strict(raw) == value
    assert parse_strict(json.dumps(value).encode()) == value


@pytest.mark.parametrize("literal", ["1e400", "-1E+400", "1e+0400"])
def test_an_exponent_with_a_sign_or_a_capital_is_still_checked(literal):
    """Signs are left out when looking for numbers a double cannot hold: 1E+400 is found as 1e400 would be."""
    assert "too large" in refused(f'{{"a":{literal}}}'.encode())


def test_a_tiny_exponent_is_a_double():
    assert parse_strict(b'{"a":1e-400,"b":-2E-0400}') == {"a": 0.0, "b": -0.0}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_refused(constant):
    """NaN and ±Infinity are not JSON numbers."""
    assert constant.lstrip("-") in refused(f'{{"rule": "a", "cost": {constant}}}'.encode())


def test_escaped_lone_surrogate_is_refused():
    """A \\ud800 escape with no partner is invalid Unicode, in a value or a key, with its path."""
    assert "$.title" in refused(b'{"rule": "a", "title": "x\\ud800y"}')
    assert "surrogate" in refused(b'{"rule": "a", "\\udc00": 1}')


def test_lone_surrogate_in_python_text_is_refused():
    """Text handed over as str with a lone surrogate cannot be encoded, and is refused."""
    assert "surrogate" in refused('{"rule": "a", "title": "\ud800"}')


def test_escaped_surrogate_pair_is_accepted():
    """A proper pair is one character outside the BMP."""
    assert parse_strict(b'{"title": "\\ud83d\\udd25"}') == {"title": "\U0001f525"}


@pytest.mark.parametrize("raw", [b"[]", b"[1, 2]", b"1", b'"rule"', b"null", b"true"])
def test_non_object_top_level_is_refused(raw):
    """The document must be an object."""
    assert "JSON object at the top level" in refused(raw)


def test_over_one_mebibyte_is_refused():
    """One byte over 1 MiB is refused with the size; exactly 1 MiB is read."""
    head, tail = b'{"title": "', b'"}'
    exact = head + b"x" * (MAX_DOCUMENT_BYTES - len(head) - len(tail)) + tail
    assert len(exact) == MAX_DOCUMENT_BYTES
    assert parse_strict(exact)["title"].startswith("xxx")
    over = head + b"x" * (MAX_DOCUMENT_BYTES - len(head) - len(tail) + 1) + tail
    assert "1,048,577 bytes" in refused(over)


def test_size_is_counted_in_utf8_bytes():
    """The limit is on bytes: 600,000 two-byte characters are over it."""
    assert "limit" in refused('{"title": "' + "é" * 600_000 + '"}')


@pytest.mark.parametrize("depth", [1_000, 10_000, 100_000])
def test_deep_nesting_is_refused_without_recursion_error(depth):
    """Thousands of nested arrays give a clear refusal; no RecursionError escapes."""
    raw = b'{"rule": "a", "x": ' + b"[" * depth + b"]" * depth + b"}"
    assert "nested too deeply" in refused(raw)


def test_deep_objects_are_refused_without_recursion_error():
    """Deeply nested objects too."""
    depth = 10_000
    raw = '{"rule": "a", "x": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    assert "nested too deeply" in refused(raw)


def test_nesting_just_under_the_interpreter_limit_does_not_escape():
    """Depths around the recursion limit either parse or are refused; nothing else escapes."""
    for depth in range(sys.getrecursionlimit() - 60, sys.getrecursionlimit() + 20, 7):
        raw = b'{"x": ' + b"[" * depth + b"]" * depth + b"}"
        try:
            parse_strict(raw)
        except InvalidDocument as exc:
            assert "nested too deeply" in exc.message


def test_five_thousand_digit_integer_is_refused():
    """An integer longer than Python will read is a clear refusal, not a ValueError."""
    assert "Not valid JSON" in refused(b'{"rule": "a", "cost": ' + b"9" * 5_000 + b"}")


def test_invalid_utf8_is_refused():
    """Bytes that are not UTF-8 are refused, saying where."""
    assert "not valid UTF-8 (byte 15)" in refused(b'{"rule": "a", "\xff": 1}')


@pytest.mark.parametrize("raw", [b"", "", b"   \n\t ", b"\n"])
def test_empty_document_is_refused(raw):
    """Nothing, or only whitespace, is an empty document."""
    assert refused(raw) == "The document is empty."


def test_syntax_error_names_line_and_column():
    """A syntax error says where it is."""
    with pytest.raises(InvalidDocument) as info:
        parse_strict(b'{"rule": "a",\n  "cost": }')
    assert info.value.details == {"line": 2, "column": 11}
    assert "line 2, column 11" in info.value.message


def test_byte_order_mark_is_ignored():
    """A UTF-8 BOM in front of the document is not content."""
    assert parse_strict("\ufeff" + json.dumps({"rule": "a"})) == {"rule": "a"}


def refusal(raw):
    with pytest.raises(InvalidDocument) as info:
        parse_strict(raw)
    return info.value


@pytest.mark.parametrize(
    ("raw", "line", "column", "closing"),
    [
        ('{\n  "rule": "a",\n  "cost": 5,\n}', 3, 12, "}"),
        ('{"rule": "a", "inputs": ["age",\n  ]}', 1, 31, "]"),
        ('{"rule": "a",}', 1, 13, "}"),
    ],
    ids=["object, comma at a line's end", "array, closed on the next line", "one line"],
)
def test_a_trailing_comma_is_reported_at_the_comma(raw, line, column, closing):
    """The parser notices a trailing comma at the bracket after it; the refusal names the comma's own place."""
    error = refusal(raw)
    assert error.details == {"line": line, "column": column}
    assert error.message.startswith(f"Not valid JSON: a trailing comma at line {line}, column {column}:")
    assert error.message.endswith(f"before its {closing}. Remove the comma.")
    assert raw.split("\n")[line - 1][column - 1] == ","


def test_a_comma_missing_at_the_end_of_a_line_is_reported_there():
    """A missing comma is noticed at the next line's first value; the refusal names the end of the line before."""
    error = refusal('{\n  "rule": "a"\n  "cost": 5\n}')
    assert error.details == {"line": 2, "column": 14}
    assert error.message == "Not valid JSON: a comma is missing at line 2, column 14, at the end of the line."


def test_other_syntax_errors_keep_the_parsers_place():
    """Anything else is reported where the parser stopped, in its own words."""
    error = refusal('{"rule": "a" "cost": 5}')
    assert error.message == "Not valid JSON: Expecting ',' delimiter at line 1, column 14."
    assert error.details == {"line": 1, "column": 14}
