"""engine/document.py: the canonical form and its content hash."""

import hashlib
import json

from engine.document import canonical_text, content_hash, parse_strict

ORIGINAL = b'{"rule": "wildfire-aid", "title": "Relief \xc3\xa9t\xc3\xa9", "amount": 5000, "tests": [{"citizen": {"b": 1, "a": 2}}]}'
REFORMATTED = b"""
{
    "tests" : [ { "citizen" : { "a" : 2 , "b" : 1 } } ],
    "amount":5000,
    "title":   "Relief \\u00e9t\\u00e9",
        "rule": "wildfire-aid"
}
"""


def canonical_hash(raw):
    return content_hash(canonical_text(parse_strict(raw)))


def test_canonical_text_sorts_keys_and_drops_whitespace():
    """Keys are sorted at every level, no insignificant whitespace, non-ASCII kept as UTF-8."""
    text = canonical_text(parse_strict(ORIGINAL))
    assert text == '{"amount":5000,"rule":"wildfire-aid","tests":[{"citizen":{"a":2,"b":1}}],"title":"Relief été"}'


def test_hash_is_sha256_of_the_canonical_utf8_bytes():
    """The content hash is the SHA-256 hex digest of the canonical text's UTF-8 bytes."""
    text = canonical_text(parse_strict(ORIGINAL))
    assert content_hash(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert len(content_hash(text)) == 64


def test_reformatting_and_key_order_do_not_change_the_hash():
    """Whitespace, key order and escape style are not content."""
    assert canonical_text(parse_strict(REFORMATTED)) == canonical_text(parse_strict(ORIGINAL))
    assert canonical_hash(REFORMATTED) == canonical_hash(ORIGINAL)


def test_canonical_text_is_a_fixed_point():
    """Parsing the canonical text and canonicalising again gives the same text."""
    text = canonical_text(parse_strict(REFORMATTED))
    assert canonical_text(parse_strict(text)) == text


def test_different_texts_give_different_hashes():
    """A change of value, of type, of array order or of key gives another hash."""
    variants = [
        {"rule": "a", "amount": 5000},
        {"rule": "a", "amount": 5001},
        {"rule": "a", "amount": "5000"},
        {"rule": "a", "amount": 5000.5},
        {"rule": "b", "amount": 5000},
        {"rule": "a", "inputs": ["x", "y"]},
        {"rule": "a", "inputs": ["y", "x"]},
        {"rule": "a", "Amount": 5000},
        {"rule": "a"},
    ]
    hashes = {canonical_hash(json.dumps(v).encode()) for v in variants}
    assert len(hashes) == len(variants)
