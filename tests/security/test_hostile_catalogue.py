"""The hostile-input catalogue: every entry is refused with a 4xx and a clear message, and nothing is stored.

Surfaces: the REST API (rule push, review, comment, promote, rollback, decisions, token), the
portal's forms (rule upload, the rule page's comment, review and rollback forms, datasets, funds),
the `hms` command line and the admin. Each entry has an id saying what it is; count them with

    pytest --collect-only -q tests/security/test_hostile_catalogue.py | tail -1

For each one: the status is 4xx (never 2xx, never 5xx); the message is in the JSON error body
(API), on the 400 page (portal), on stderr with a non-zero exit (CLI) or on the admin's form; the
stored state (tests/security/catalogue_support.stored) is the same after as before; and a refusal
a service made is in the audit history as refused, and nothing else is.
"""

import io
import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from budget.models import Dataset, Fund
from deployments.models import Release
from hms import cli as hms_cli
from hms.tokens import TokenStore
from rules.models import RuleVersion
from tests.api.conftest import token_for
from tests.api.support import assert_error_body
from tests.conftest import document, make_user

from .catalogue_support import (
    Case,
    HttpThroughTestClient,
    events_since,
    form_errors,
    last_audit_id,
    page_text,
    params,
    stored,
)

SLUG = "wildfire-aid-2024"
PUSH = "/api/v1/rules/"
REVIEW = f"/api/v1/rules/{SLUG}/versions/1/reviews/"
COMMENT = f"/api/v1/rules/{SLUG}/versions/1/comments/"
PROMOTE = f"/api/v1/rules/{SLUG}/promote/"
ROLLBACK = f"/api/v1/rules/{SLUG}/rollback/"
DECISIONS = "/api/v1/decisions/"
TOKEN = "/api/v1/auth/token/"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
HASH = "a" * 64
MIB = 1024 * 1024


def deep(depth, opening=b"[", closing=b"]"):
    return b'{"rule": "deep", "eligibility": ' + opening * depth + b"true" + closing * depth + b"}"


def wide_object(keys, last=b""):
    members = b",".join(b'"k%d": 0' % i for i in range(keys))
    return b'{"rule": "wide", "tests": [{"citizen": {' + members + last + b'}, "expect": {"eligible": true}}]}'


def multipart(fields):
    """A multipart/form-data body and its content type."""
    boundary = "catalogue-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"


MULTIPART_BODY, MULTIPART_TYPE = multipart({"rule": SLUG, "cost": "5"})


# ---------------------------------------------------------------------------------------------
# Rule documents, refused by the strict parser wherever they are pushed (API, upload form, CLI)

DOCUMENTS = [
    # Malformed JSON
    Case("truncated", b'{"rule": "wildfire-aid-2024", "cost": 5', "Not valid JSON"),
    Case("trailing-comma", b'{"rule": "a",\n "cost": 5,\n}', "a trailing comma at line 2, column 11"),
    Case("single-quotes", b"{'rule': 'a'}", "Expecting property name enclosed in double quotes at line 1, column 2"),
    Case("line-comment", b'{"rule": "a" // the rule\n}', "Not valid JSON: Expecting ',' delimiter"),
    Case("block-comment", b'/* a rule */ {"rule": "a"}', "Not valid JSON: Expecting value at line 1, column 1"),
    Case("unquoted-key", b'{rule: "a"}', "Expecting property name enclosed in double quotes"),
    Case("bom-then-garbage", b"\xef\xbb\xbf{rule: a}", "Not valid JSON"),
    Case("two-boms", b'\xef\xbb\xbf\xef\xbb\xbf{"rule": "a"}', "Not valid JSON: Unexpected UTF-8 BOM"),
    Case("utf16-with-bom", '{"rule": "a"}'.encode("utf-16"), "not valid UTF-8"),
    Case("latin1-bytes", b'{"rule": "a", "title": "caf\xe9"}', "not valid UTF-8 (byte 27)"),
    Case("empty-body", b"", "The document is empty."),
    Case("whitespace-only", b" \r\n\t ", "The document is empty."),
    Case("null", b"null", "must be a JSON object at the top level, not NoneType"),
    Case("top-level-array", b'[{"rule": "a"}]', "must be a JSON object at the top level, not list"),
    Case("top-level-string", b'"wildfire-aid-2024"', "must be a JSON object at the top level, not str"),
    Case("top-level-number", b"42", "must be a JSON object at the top level, not int"),
    Case("top-level-true", b"true", "must be a JSON object at the top level, not bool"),
    Case("two-documents", b'{"rule": "a"} {"rule": "b"}', "Not valid JSON: Extra data at line 1, column 15"),
    Case("hex-number", b'{"rule": "a", "cost": 0x10}', "Not valid JSON: Expecting ',' delimiter"),
    Case("leading-plus", b'{"rule": "a", "cost": +5}', "Not valid JSON: Expecting value"),
    Case("leading-zero", b'{"rule": "a", "cost": 012}', "Not valid JSON: Expecting ',' delimiter"),
    Case("raw-tab-in-string", b'{"rule": "a", "title": "a\tb"}', "Invalid control character"),
    Case("bad-escape", b'{"rule": "a", "title": "\\x41"}', "Invalid \\escape"),
    # Duplicate keys
    Case("duplicate-top-level", b'{"rule": "a", "cost": 1, "cost": 2}', "Duplicate key 'cost'"),
    Case(
        "duplicate-nested",
        b'{"rule": "a", "eligibility": {"and": [true], "and": [false]}}',
        "Duplicate key 'and'",
    ),
    Case("duplicate-by-escape", b'{"rule": "a", "\\u0072ule": "b"}', "Duplicate key 'rule'"),
    Case(
        "duplicate-deep-in-tests",
        document(tests=[{"citizen": {"age": 1}, "expect": {}}]).replace(b'{"age": 1}', b'{"age": 1, "age": 99}'),
        "Duplicate key 'age'",
    ),  # fmt: skip
    # Huge, deep and wide
    Case("over-1-mib", b'{"rule": "a", "title": "' + b"x" * MIB + b'"}', "the limit is 1,048,576 bytes (1 MiB)"),
    Case("over-upload-memory-limit", b'{"rule": "a", "title": "' + b"x" * (2 * MIB + 10) + b'"}', "1 MiB"),
    Case("10k-deep-arrays", deep(10_000), "nested too deeply"),
    Case("10k-deep-objects", deep(10_000, b'{"!": ', b"}"), "nested too deeply"),
    Case("100k-deep-arrays", deep(100_000), "nested too deeply"),
    Case("wide-object-duplicate-at-the-end", wide_object(50_000, b', "k7": 1'), "Duplicate key 'k7'"),
    Case("wide-object-over-1-mib", wide_object(100_000), "1 MiB"),
    Case("wide-array-trailing-comma", b'{"rule": "a", "inputs": [' + b"0," * 200_000 + b"]}", "a trailing comma"),
    # Numbers
    Case("nan", b'{"rule": "a", "cost": NaN}', "NaN is not a JSON number"),
    Case("infinity", b'{"rule": "a", "cost": Infinity}', "Infinity is not a JSON number"),
    Case("minus-infinity", b'{"rule": "a", "cost": -Infinity}', "-Infinity is not a JSON number"),
    Case("1e400", b'{"rule": "a",\n "cost": 1e400}', "the number at line 2, column 10 (1e400) is too large"),
    Case("minus-1e400", b'{"rule": "a", "max_payment": -1e400}', "(-1e400) is too large"),
    Case("1e400-in-logic", document(amount={"*": [1e300, 1]}).replace(b"1e+300", b"1e400"), "(1e400) is too large"),
    Case("5000-digit-integer", b'{"rule": "a", "cost": ' + b"9" * 5_000 + b"}", "5,000 digits) is too large"),
    Case("310-digit-integer", b'{"rule": "a", "cost": 1' + b"0" * 309 + b"}", "310 digits) is too large"),
    Case("arabic-indic-digits", '{"rule": "a", "cost": ١٢٣}'.encode(), "Not valid JSON: Expecting value"),
    Case("fullwidth-digits", '{"rule": "a", "cost": １２３}'.encode(), "Not valid JSON: Expecting value"),
    # Odd Unicode and text
    Case("lone-surrogate-escape", b'{"rule": "a", "title": "\\ud800"}', "lone surrogate"),
    Case("lone-surrogate-bytes", b'{"rule": "a", "title": "\xed\xa0\x80"}', "not valid UTF-8"),
    Case("nul-escape", b'{"rule": "a", "title": "a\\u0000b"}', "NUL character"),
    Case("nul-in-a-key", b'{"rule": "a", "tests": [{"citizen": {"ag\\u0000e": 1}}]}', "NUL character"),
    Case("raw-nul-byte", b'{"rule": "a"}\x00', "Not valid JSON"),
    # The rule's identifier: wrong types, traversal, odd Unicode
    Case("rule-missing", b'{"title": "no identifier"}', 'The document must name its rule in "rule"'),
    Case("rule-number", b'{"rule": 2024}', 'The document must name its rule in "rule"'),
    Case("rule-null", b'{"rule": null}', 'The document must name its rule in "rule"'),
    Case("rule-list", b'{"rule": ["a"]}', 'The document must name its rule in "rule"'),
    Case("rule-object", b'{"rule": {"slug": "a"}}', 'The document must name its rule in "rule"'),
    Case("rule-true", b'{"rule": true}', 'The document must name its rule in "rule"'),
    Case("rule-empty", b'{"rule": ""}', 'The document must name its rule in "rule"'),
    Case("rule-dot-dot-slash", b'{"rule": "../../etc/passwd"}', 'The document must name its rule in "rule"'),
    Case("rule-encoded-dot-dot", b'{"rule": "%2e%2e%2fadmin"}', 'The document must name its rule in "rule"'),
    Case("rule-absolute-path", b'{"rule": "/etc/passwd"}', 'The document must name its rule in "rule"'),
    Case("rule-backslashes", b'{"rule": "..\\\\..\\\\windows"}', 'The document must name its rule in "rule"'),
    Case("rule-dot-dot", b'{"rule": ".."}', 'The document must name its rule in "rule"'),
    Case("rule-101-chars", b'{"rule": "' + b"a" * 101 + b'"}', 'The document must name its rule in "rule"'),
    Case("rule-trailing-newline", b'{"rule": "wildfire\\n"}', 'The document must name its rule in "rule"'),
    Case("rule-rtl-override", '{"rule": "fire\u202eaid"}'.encode(), 'The document must name its rule in "rule"'),
    Case("rule-zero-width-joiner", '{"rule": "fire\u200daid"}'.encode(), 'The document must name its rule in "rule"'),
    Case("rule-not-nfc", '{"rule": "cafe\u0301"}'.encode(), 'The document must name its rule in "rule"'),
    Case("rule-arabic-indic-digits", '{"rule": "aid-٢٠٢٤"}'.encode(), 'The document must name its rule in "rule"'),
    Case("rule-upper-case", b'{"rule": "Wildfire-Aid"}', 'The document must name its rule in "rule"'),
    # Wrong content types: the push reads the body as the document, whatever it is labelled
    Case("form-encoded", b"rule=wildfire-aid-2024&cost=5", "Not valid JSON", {"content_type": FORM}),
    Case("multipart", MULTIPART_BODY, "Not valid JSON", {"content_type": MULTIPART_TYPE}),
    Case("xml", b'<?xml version="1.0"?><rule>a</rule>', "Not valid JSON", {"content_type": "application/xml"}),
    Case("text-plain-yaml", b"rule: wildfire-aid-2024\ncost: 5\n", "Not valid JSON", {"content_type": "text/plain"}),
]

# The schema's fields with a wrong type, and logic outside the subset: by design (DESIGN.md, "Lint")
# the push stores them as a version whose lint fails with a finding that names the field or the
# operator; they go no further (no simulation, no review, nothing live).
WRONG_TYPES = [
    Case("title-number", document(title=5), "title"),
    Case("program-with-spaces", document(program="Disaster Relief"), "program"),
    Case("authority-string", document(authority="Wildfire Relief Act"), "authority"),
    Case("authority-without-citation", document(authority=[{"url": "https://example.org"}]), "citation"),
    Case("fund-list", document(fund=["DRF-FY2025"]), "fund"),
    Case("valid-from-not-a-date", document(valid_from="2024-13-45"), "valid_from"),
    Case("valid-to-number", document(valid_to=20250831), "valid_to"),
    Case("inputs-string", document(inputs="age"), "inputs"),
    Case("max-payment-negative", document(max_payment=-1), "max_payment"),
    Case("max-payment-string", document(max_payment="5000"), "max_payment"),
    Case("budget-cap-list", document(budget_cap=[120000000]), "budget_cap"),
    Case("cost-boolean", document(cost=True), "cost"),
    Case("tests-object", document(tests={"citizen": {}}), "tests"),
    Case("unknown-field", document(payout=5000), "payout"),
    Case("unknown-operator", document(eligibility={"substr": [{"var": "county"}, 0, 2]}, inputs=["county"]), "substr"),
    Case("unknown-operator-in-amount", document(amount={"eval": ["5000"]}), "eval"),
    Case("var-into-proto", document(eligibility={"var": "__proto__.polluted"}, inputs=None, tests=[]), "__proto__"),
    Case("var-into-constructor", document(eligibility={"var": "constructor.prototype"}, inputs=None), "constructor"),
    Case("var-computed-name", document(eligibility={"var": {"cat": ["a", "ge"]}}, inputs=None), "var"),
]


@pytest.fixture
def api():
    """`api(user)`: a client authenticated with that person's API token; `api(None)`: anonymous."""

    def _client(user):
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
        return client

    return _client


def assert_nothing_stored(before, mark, *, refused_by=None):
    """Nothing stored; the audit history gained only refusals, `refused_by` among them when a service refused."""
    assert stored() == before
    events = events_since(mark)
    assert all(event.outcome == "refused" for event in events), [(e.action, e.outcome) for e in events]
    if refused_by is not None:
        assert refused_by in [event.action for event in events]


def assert_api_refusal(response, case, status=400, code=None):
    assert 400 <= response.status_code < 500, response.content[:500]
    error = assert_error_body(response, status, code)
    assert case.says in error["message"], error
    return error


# ---------------------------------------------------------------------------------------------
# REST API: the rule push


@pytest.mark.parametrize("case", params(DOCUMENTS))
def test_rest_push_refuses_the_document(case, api, drafter):
    """POST /api/v1/rules/ answers 400 invalid_document saying what is wrong; nothing is stored; the push is audited."""
    client = api(drafter)
    before, mark = stored(), last_audit_id()
    response = client.generic("POST", PUSH, case.send, content_type=case.extra.get("content_type", JSON))
    assert_api_refusal(response, case, 400, "invalid_document")
    assert_nothing_stored(before, mark, refused_by="rule.push")


@pytest.mark.parametrize("case", params(WRONG_TYPES))
def test_rest_push_of_a_wrong_type_or_logic_outside_the_subset_stops_at_lint(
    case, api, drafter, django_capture_on_commit_callbacks
):
    """A schema field of the wrong type, an unknown operator or a var into internals: stored, its lint fails with a
    finding naming it, and it goes no further."""
    client = api(drafter)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PUSH, case.send, content_type=JSON)
    assert response.status_code == 201, response.content
    version = RuleVersion.objects.get(rule__slug=response.json()["rule"], number=response.json()["number"])
    assert version.status == "lint_failed"
    lint = version.checks.get(kind="lint")
    errors = [f for f in lint.findings if f["severity"] == "error"]
    assert any(case.says in f"{f['message']} {f.get('path', '')}" for f in errors), errors
    assert not version.checks.filter(kind="simulation").exists()
    assert not Release.objects.filter(version=version).exists()


# ---------------------------------------------------------------------------------------------
# REST API: request bodies of review, comment, promote, rollback, decisions and the token


def media(id, path, content_type, body=b'{"decision": "approve"}'):
    """A body sent with a content type the endpoint does not read: 415, saying which."""
    says = f'Unsupported media type "{content_type}'
    return Case(id, (path, body), says, {"content_type": content_type, "status": 415, "code": "unsupported_media_type"})


def unreadable(id, path, raw, says):
    """A body the strict JSON parser refuses: 400 invalid_document."""
    return Case(id, (path, raw), says, {"code": "invalid_document"})


def bad_field(id, path, body, name, says=""):
    """A field of the wrong type or size: 400 invalid, naming the field."""
    return Case(id, (path, body), f"{name}: {says}", {"code": "invalid"})


def refused(id, path, body, says, action):
    """A value the service refuses: 400 invalid_input, audited as a refused `action`."""
    return Case(id, (path, body), says, {"code": "invalid_input", "audited": action})


NOT_STRING = "Not text: write it as a JSON string, in quotes."
NOT_NULL = "This field may not be null."
REQUIRED = "This field is required."
NOT_INTEGER = "A valid integer is required."
FORM_REVIEW = b"decision=approve&expected_hash=" + HASH.encode()
XML_REVIEW = b"<review><decision>approve</decision></review>"

BODIES_IN_REVIEW = [
    media("review-text-plain", REVIEW, "text/plain"),
    media("review-form-encoded", REVIEW, FORM, FORM_REVIEW),
    media("review-multipart", REVIEW, MULTIPART_TYPE, MULTIPART_BODY),
    media("review-xml", REVIEW, "application/xml", XML_REVIEW),
    unreadable(
        "review-duplicate-role", REVIEW, b'{"decision": "approve", "role": "legal", "role": "budget"}', "'role'"
    ),
    unreadable("review-role-infinity", REVIEW, b'{"decision": "approve", "role": Infinity}', "Infinity is not"),
    unreadable("review-role-1e400", REVIEW, b'{"decision": "approve", "role": 1e400}', "(1e400) is too large"),
    unreadable("review-comment-lone-surrogate", REVIEW, b'{"comment": "\\udfff"}', "lone surrogate"),
    unreadable("review-comment-nul", REVIEW, b'{"comment": "\\u0000"}', "NUL character"),
    unreadable("review-top-level-string", REVIEW, b'"approve"', "not str"),
    unreadable("review-over-1-mib", REVIEW, b'{"comment": "' + b"x" * MIB + b'"}', "(1 MiB)"),
    unreadable("review-over-upload-memory-limit", REVIEW, b'{"comment": "' + b"x" * (3 * MIB) + b'"}', "(1 MiB)"),
    bad_field("review-empty-body", REVIEW, b"", "decision", REQUIRED),
    bad_field("review-decision-number", REVIEW, {"decision": 1, "expected_hash": HASH}, "decision"),
    bad_field("review-decision-null", REVIEW, {"decision": None, "expected_hash": HASH}, "decision", NOT_NULL),
    bad_field("review-decision-list", REVIEW, {"decision": ["approve"], "expected_hash": HASH}, "decision"),
    bad_field("review-hash-number", REVIEW, {"decision": "approve", "expected_hash": 1234}, "expected_hash"),
    bad_field(
        "review-hash-object", REVIEW, {"decision": "approve", "expected_hash": {"sha256": HASH}}, "expected_hash"
    ),
    bad_field("review-hash-arabic-indic", REVIEW, {"decision": "approve", "expected_hash": "٣" * 64}, "expected_hash"),
    bad_field("review-hash-fullwidth", REVIEW, {"decision": "approve", "expected_hash": "ａ" * 64}, "expected_hash"),
    bad_field(
        "review-hash-traversal", REVIEW, {"decision": "approve", "expected_hash": "../" * 21 + "a"}, "expected_hash"
    ),
    bad_field("review-role-list", REVIEW, {"decision": "approve", "expected_hash": HASH, "role": ["legal"]}, "role"),
    bad_field(
        "review-comment-object", REVIEW, {"decision": "approve", "expected_hash": HASH, "comment": {}}, "comment"
    ),
    bad_field(
        "review-comment-5001", REVIEW, {"decision": "reject", "expected_hash": HASH, "comment": "x" * 5001}, "comment"
    ),
    bad_field("comment-missing-body", COMMENT, {}, "body", REQUIRED),
    bad_field("comment-body-null", COMMENT, {"body": None}, "body", NOT_NULL),
    bad_field("comment-body-list", COMMENT, {"body": ["a"]}, "body", NOT_STRING),
    bad_field("comment-body-5001", COMMENT, {"body": "x" * 5001}, "body"),
    refused(
        "comment-body-blank", COMMENT, {"body": " \n\t "}, "Write the comment first: it is empty.", "review.comment"
    ),
    refused(
        "comment-body-zero-width-only", COMMENT, {"body": "\u200b\u200d\ufeff"}, "Write the comment", "review.comment"
    ),
    unreadable("comment-body-nul", COMMENT, b'{"body": "a\\u0000b"}', "NUL character"),
    unreadable("comment-10k-deep", COMMENT, b'{"body": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "nested too deeply"),
    unreadable("comment-duplicate-body", COMMENT, b'{"body": "fine", "body": "other"}', "Duplicate key 'body'"),
    media("comment-text-plain", COMMENT, "text/plain", b'{"body": "hello"}'),
]

BODIES_IN_PRODUCTION = [
    bad_field("promote-version-text-1e400", PROMOTE, {"version": "1e400"}, "version", NOT_INTEGER),
    unreadable("promote-version-1e400", PROMOTE, b'{"version": 1e400}', "(1e400) is too large"),
    bad_field("promote-version-fraction", PROMOTE, {"version": 1.5}, "version", NOT_INTEGER),
    bad_field("promote-version-true", PROMOTE, {"version": True}, "version", NOT_INTEGER),
    bad_field("promote-version-zero", PROMOTE, {"version": 0}, "version"),
    bad_field("promote-version-arabic-indic", PROMOTE, {"version": "١"}, "version", NOT_INTEGER),
    refused("promote-version-huge", PROMOTE, {"version": 10**30}, "has no v1000000000000000000000000000000", "release.promote"),
    refused("promote-environment-traversal", PROMOTE, {"environment": "../production"}, "Unknown environment", "release.promote"),
    refused("promote-environment-encoded", PROMOTE, {"environment": "%2e%2e%2fstaging"}, "Unknown environment", "release.promote"),
    bad_field("promote-environment-list", PROMOTE, {"environment": ["production"]}, "environment", NOT_STRING),
    unreadable("promote-environment-nul", PROMOTE, b'{"environment": "production\\u0000"}', "NUL character"),
    bad_field("promote-note-2001", PROMOTE, {"note": "x" * 2001}, "note"),
    media("promote-form-encoded", PROMOTE, FORM, b"environment=production"),
    refused("rollback-to-traversal", ROLLBACK, {"reason": "r", "to": "../v1"}, "Roll back to 'previous', 'v0'", "release.rollback"),
    refused("rollback-to-arabic-indic-zero", ROLLBACK, {"reason": "r", "to": "v٠"}, "Roll back to 'previous'", "release.rollback"),
    refused("rollback-to-1e400", ROLLBACK, {"reason": "r", "to": "v1e400"}, "Roll back to 'previous'", "release.rollback"),
    refused("rollback-to-ten-digits", ROLLBACK, {"reason": "r", "to": "v9999999999"}, "Roll back to 'previous'", "release.rollback"),
    refused("rollback-to-absolute-path", ROLLBACK, {"reason": "r", "to": "/etc/passwd"}, "Roll back to 'previous'", "release.rollback"),
    bad_field("rollback-to-list", ROLLBACK, {"reason": "r", "to": ["v0"]}, "to", NOT_STRING),
    refused("rollback-seen-arabic-indic", ROLLBACK, {"reason": "r", "expected_from": "v١"}, "Say which version you saw live", "release.rollback"),
    bad_field("rollback-reason-null", ROLLBACK, {"reason": None}, "reason", NOT_NULL),
    refused("rollback-reason-zero-width-space", ROLLBACK, {"reason": "\u200b"}, "A rollback needs a reason.", "release.rollback"),
    refused("rollback-reason-direction-marks", ROLLBACK, {"reason": "\u202e\u2066\u200f"}, "A rollback needs a reason.", "release.rollback"),
    bad_field("rollback-reason-2001", ROLLBACK, {"reason": "x" * 2001}, "reason"),
    unreadable("rollback-reason-lone-surrogate", ROLLBACK, b'{"reason": "\\ud83d"}', "lone surrogate"),
    unreadable("rollback-duplicate-reason", ROLLBACK, b'{"reason": "a", "reason": "b"}', "Duplicate key 'reason'"),
    refused("rollback-environment-traversal", ROLLBACK, {"reason": "r", "environment": "staging/../production"}, "Unknown environment", "release.rollback"),
    media("rollback-xml", ROLLBACK, "application/xml", b"<rollback><reason>r</reason></rollback>"),
]  # fmt: skip

BODIES_FOR_DECISIONS = [
    bad_field("decisions-citizen-list", DECISIONS, {"account_id": "A1", "citizen": [1]}, "citizen"),
    bad_field("decisions-citizen-string", DECISIONS, {"account_id": "A1", "citizen": "age=40"}, "citizen"),
    bad_field("decisions-citizen-null", DECISIONS, {"account_id": "A1", "citizen": None}, "citizen", NOT_NULL),
    bad_field("decisions-account-object", DECISIONS, {"account_id": {"id": 1}, "citizen": {}}, "account_id", NOT_STRING),
    bad_field("decisions-account-101", DECISIONS, {"account_id": "x" * 101, "citizen": {}}, "account_id"),
    bad_field("decisions-account-missing", DECISIONS, {"citizen": {}}, "account_id", REQUIRED),
    unreadable("decisions-citizen-duplicate-key", DECISIONS, b'{"account_id": "A1", "citizen": {"age": 1, "age": 90}}', "'age'"),
    unreadable("decisions-citizen-1e400", DECISIONS, b'{"account_id": "A1", "citizen": {"income": 1e400}}', "too large"),
    unreadable("decisions-citizen-nan", DECISIONS, b'{"account_id": "A1", "citizen": {"age": NaN}}', "NaN is not"),
    unreadable("decisions-citizen-10k-deep", DECISIONS, b'{"citizen": ' + b'{"a": ' * 10_000 + b"1" + b"}" * 10_001, "too deeply"),
    media("decisions-text-plain", DECISIONS, "text/plain", b'{"account_id": "A1", "citizen": {}}'),
    media("decisions-form-encoded", DECISIONS, FORM, b"account_id=A1&citizen=age"),
]  # fmt: skip

PASSWORD = "pw-for-tests-1"
LOGIN = json.dumps({"username": "counsel", "password": PASSWORD}).encode()
BODIES_FOR_TOKEN = [
    media("token-form-encoded", TOKEN, FORM, f"username=counsel&password={PASSWORD}".encode()),
    media("token-form-duplicate-username", TOKEN, FORM, f"username=nobody&username=counsel&password={PASSWORD}".encode()),
    media("token-multipart", TOKEN, multipart({"username": "counsel", "password": PASSWORD})[1], multipart({"username": "counsel", "password": PASSWORD})[0]),
    media("token-text-plain", TOKEN, "text/plain", LOGIN),
    media("token-xml", TOKEN, "application/xml", b"<login><username>counsel</username></login>"),
    unreadable("token-duplicate-username", TOKEN, b'{"username": "nobody", "username": "counsel", "password": "x"}', "'username'"),
    unreadable("token-duplicate-password", TOKEN, LOGIN[:-1] + b', "password": "other"}', "Duplicate key 'password'"),
    unreadable("token-username-nul", TOKEN, b'{"username": "coun\\u0000sel", "password": "x"}', "NUL character"),
    unreadable("token-top-level-array", TOKEN, b'["counsel", "' + PASSWORD.encode() + b'"]', "not list"),
    bad_field("token-username-list", TOKEN, {"username": ["counsel"], "password": PASSWORD}, "username", NOT_STRING),
    bad_field("token-username-null", TOKEN, {"username": None, "password": PASSWORD}, "username", NOT_NULL),
    bad_field("token-password-object", TOKEN, {"username": "counsel", "password": {"pw": PASSWORD}}, "password", NOT_STRING),
    bad_field("token-username-151", TOKEN, {"username": "x" * 151, "password": PASSWORD}, "username"),
    bad_field("token-password-4097", TOKEN, {"username": "counsel", "password": "x" * 4097}, "password"),
    bad_field("token-empty-body", TOKEN, b"", "username", REQUIRED),
    Case("token-username-rtl-override", (TOKEN, {"username": "\u202elesnuoc", "password": PASSWORD}), "Unable to log in", {"code": "invalid_credentials"}),
]  # fmt: skip


def post_body(client, case):
    path, body = case.send
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic("POST", path, raw, content_type=case.extra.get("content_type", JSON))


def assert_body_refused(client, case):
    before, mark = stored(), last_audit_id()
    response = post_body(client, case)
    assert_api_refusal(response, case, case.extra.get("status", 400), case.extra["code"])
    assert_nothing_stored(before, mark, refused_by=case.extra.get("audited"))


@pytest.mark.parametrize("case", params(BODIES_IN_REVIEW))
def test_rest_review_and_comment_bodies_are_refused(case, in_review, api, counsel):
    """A hostile review or comment body is a 4xx with the JSON error naming the problem; nothing is stored."""
    assert_body_refused(api(counsel), case)


@pytest.mark.parametrize("case", params(BODIES_IN_PRODUCTION))
def test_rest_promote_and_rollback_bodies_are_refused(case, in_production, api, release_manager):
    """A hostile promote or rollback body is a 4xx naming the problem; no pointer moves, nothing is stored."""
    assert_body_refused(api(release_manager), case)


@pytest.mark.parametrize("case", params(BODIES_FOR_DECISIONS))
def test_rest_decision_bodies_are_refused(case, api, db):
    """A hostile decision request is a 4xx naming the problem."""
    assert_body_refused(api(make_user("payments", settings.PDP_SYSTEMS_GROUP)), case)


@pytest.mark.parametrize("case", params(BODIES_FOR_TOKEN))
def test_rest_token_bodies_are_refused(case, counsel):
    """The token endpoint reads only strict JSON: any other body is a 4xx, and no token is issued."""
    assert_body_refused(APIClient(), case)


# ---------------------------------------------------------------------------------------------
# Portal: the rule upload form, by its text box and by its file field

BY_ID = {case.id: case for case in DOCUMENTS}
UPLOAD_AS_TEXT = [
    BY_ID[id]
    for id in (
        "truncated", "trailing-comma", "single-quotes", "duplicate-nested", "nan", "1e400", "5000-digit-integer",
        "10k-deep-arrays", "lone-surrogate-escape", "top-level-array", "rule-dot-dot-slash", "rule-rtl-override",
        "rule-not-nfc", "over-1-mib",
    )
]  # fmt: skip
UPLOAD_AS_FILE = [
    BY_ID[id]
    for id in (
        "utf16-with-bom", "latin1-bytes", "lone-surrogate-bytes", "two-boms", "duplicate-top-level", "minus-1e400",
        "10k-deep-objects", "null", "rule-absolute-path", "raw-nul-byte",
    )
]  # fmt: skip
UPLOAD_FORM_ONLY = [
    Case("text-with-a-nul-character", {"text": '{"rule": "a\x00"}'}, "Null characters are not allowed."),
    Case("text-whitespace-only", {"text": "  \r\n  "}, "Choose a JSON file or paste the rule document."),
    Case(
        "file-and-text-both",
        {"text": '{"rule": "a"}', "file": ("rule.json", b'{"rule": "b"}')},
        "Choose a file or paste the JSON, not both",
    ),
    Case("file-over-1-mib", {"file": ("big.json", b" " * (MIB + 1))}, "the limit is 1,048,576 bytes (1 MiB)"),
    Case("text-over-upload-memory-limit", {"text": '{"rule": "a", "title": "' + "x" * (2 * MIB) + '"}'}, "1 MiB"),
    Case("file-named-with-traversal", {"file": ("../../../etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")}, "Not valid JSON"),
    Case("file-named-absolute", {"file": ("/etc/shadow.json", b'{"rule": "/etc/shadow"}')}, 'must name its rule in "rule"'),
]  # fmt: skip


def upload(client, fields):
    data = dict(fields)
    if "file" in data:
        name, content = data["file"]
        data["file"] = SimpleUploadedFile(name, content, content_type="application/json")
    return client.post(reverse("rule-upload"), data)


def assert_page_refusal(response, says, status=400):
    assert response.status_code == status, (response.status_code, page_text(response)[:300])
    assert says in page_text(response), page_text(response)[:2000]


def portal_client(user):
    client = Client()
    client.force_login(user)
    return client


def assert_upload_refused(client, fields, case, *, reaches_service=True):
    before, mark = stored(), last_audit_id()
    assert_page_refusal(upload(client, fields), case.says)
    assert_nothing_stored(before, mark, refused_by="rule.push" if reaches_service else None)


@pytest.mark.parametrize("case", params(UPLOAD_AS_TEXT))
def test_upload_form_text_is_refused(case, drafter):
    """A hostile document pasted into the upload form: a 400 page with the reason at the box; nothing stored."""
    assert_upload_refused(portal_client(drafter), {"text": case.send.decode("utf-8")}, case)


@pytest.mark.parametrize("case", params(UPLOAD_AS_FILE))
def test_upload_form_file_is_refused(case, drafter):
    """A hostile document chosen as a file: a 400 page with the reason; nothing stored."""
    assert_upload_refused(portal_client(drafter), {"file": ("rule.json", case.send)}, case)


@pytest.mark.parametrize(
    "case",
    params(UPLOAD_FORM_ONLY),
)
def test_upload_form_refuses_what_the_form_cannot_take(case, drafter):
    """NUL characters, an empty box, both a file and text, an oversized file, odd file names: a 400 page; nothing stored."""
    assert_upload_refused(portal_client(drafter), case.send, case, reaches_service=case.id.startswith("file-named"))


# ---------------------------------------------------------------------------------------------
# Portal: the rule page's comment, review and rollback forms

SEEN = object()  # stands for the content hash the page shows
NUL_REFUSED = "Null characters are not allowed."
ON_THE_RULE_PAGE_IN_REVIEW = [
    Case("comment-with-a-nul-character", ("version-comment", {"body": "a\x00b"}), NUL_REFUSED),
    Case("comment-blank", ("version-comment", {"body": " \r\n\t "}), "Write the comment first: it is empty."),
    Case("comment-5001-characters", ("version-comment", {"body": "x" * 5001}), "at most 5,000 are allowed"),
    Case("comment-zero-width-only", ("version-comment", {"body": "\u200b \u200d"}), "Write the comment first"),
    Case(
        "reject-without-a-reason",
        ("version-reject", {"expected_hash": SEEN, "role": "legal", "comment": "  "}),
        "A rejection needs a comment saying why.",
    ),
    Case(
        "reject-with-only-invisible-characters",
        ("version-reject", {"expected_hash": SEEN, "role": "legal", "comment": "\u2060\u200b\u202e"}),
        "A rejection needs a comment saying why.",
    ),
    Case(
        "approve-hash-65-characters",
        ("version-approve", {"expected_hash": "a" * 65, "role": "legal"}),
        "Ensure this value has at most 64 characters (it has 65).",
    ),
    Case("approve-role-with-a-nul", ("version-approve", {"expected_hash": SEEN, "role": "legal\x00"}), NUL_REFUSED),
]
ON_THE_RULE_PAGE_IN_PRODUCTION = [
    Case("rollback-reason-blank", ("rule-rollback", {"reason": "   "}), "A rollback needs a reason."),
    Case("rollback-reason-nul", ("rule-rollback", {"reason": "oops\x00"}), NUL_REFUSED),
    Case("rollback-reason-zero-width", ("rule-rollback", {"reason": "\u200b\u200c"}), "A rollback needs a reason."),
    Case("rollback-reason-2001", ("rule-rollback", {"reason": "x" * 2001}), "at most 2000 characters (it has 2001)"),
    Case("rollback-to-traversal", ("rule-rollback", {"reason": "r", "to": "../v1"}), "Roll back to 'previous'"),
    Case("rollback-to-arabic-indic-zero", ("rule-rollback", {"reason": "r", "to": "v٠"}), "Roll back to 'previous'"),
    Case("rollback-to-21-characters", ("rule-rollback", {"reason": "r", "to": "v" * 21}), "at most 20 characters"),
    Case(
        "rollback-environment-traversal",
        ("rule-rollback", {"reason": "r", "environment": "../../production"}),
        "Unknown environment '../../production'",
    ),
]


def post_on_rule_page(client, version, case):
    name, fields = case.send
    args = [version.rule.slug] if name == "rule-rollback" else [version.rule.slug, version.number]
    data = {key: version.content_hash if value is SEEN else value for key, value in fields.items()}
    return client.post(reverse(name, args=args), data)


def assert_rule_page_refusal(client, version, case):
    before, mark = stored(), last_audit_id()
    assert_page_refusal(post_on_rule_page(client, version, case), case.says)
    assert_nothing_stored(before, mark)


@pytest.mark.parametrize("case", params(ON_THE_RULE_PAGE_IN_REVIEW))
def test_rule_page_review_forms_refuse(case, in_review, counsel):
    """A hostile comment or sign-off: the rule page again, 400, the problem at its field; nothing stored."""
    assert_rule_page_refusal(portal_client(counsel), in_review, case)


@pytest.mark.parametrize("case", params(ON_THE_RULE_PAGE_IN_PRODUCTION))
def test_rule_page_rollback_form_refuses(case, in_production, release_manager):
    """A hostile rollback: the rule page again, 400, the problem at its field; no pointer moves."""
    assert_rule_page_refusal(portal_client(release_manager), in_production, case)


# The rule page's and the board's Promote and Deploy again buttons answer with the page they came
# from and a message (their fields are hidden, so a hostile value is a forged request).
PROMOTE_BUTTON = [
    Case("promote-version-arabic-indic", {"environment": "production", "version": "١"}, "Enter a whole number."),
    Case("promote-version-1e400", {"environment": "production", "version": "1e400"}, "Enter a whole number."),
    Case("promote-version-zero", {"environment": "production", "version": "0"}, "greater than or equal to 1"),
    Case("promote-environment-traversal", {"environment": "../production", "version": "1"}, "Unknown environment"),
    Case("promote-note-2001", {"environment": "production", "version": "1", "note": "x" * 2001}, "at most 2000"),
]


@pytest.mark.parametrize("case", params(PROMOTE_BUTTON))
def test_promote_button_refuses(case, rolled_back, release_manager):
    """A forged Deploy again: back to the rule page with the reason as an error message; no pointer moves."""
    client = portal_client(release_manager)
    before, mark = stored(), last_audit_id()
    response = client.post(reverse("rule-promote", args=[SLUG]), case.send, follow=True)
    assert response.redirect_chain and response.status_code == 200
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert any(case.says in message for message in errors), errors
    assert_nothing_stored(before, mark)


# ---------------------------------------------------------------------------------------------
# Portal: every POST without its CSRF token is refused


CSRF_REFUSED = "CSRF verification failed"
WITHOUT_CSRF = [
    Case("upload-without-csrf", ("rule-upload", [], {"text": '{"rule": "no-csrf"}'}, "drafter"), CSRF_REFUSED),
    Case("comment-without-csrf", ("version-comment", [SLUG, 1], {"body": "hello"}, "counsel"), CSRF_REFUSED),
    Case("approve-without-csrf", ("version-approve", [SLUG, 1], {"expected_hash": SEEN}, "counsel"), CSRF_REFUSED),
    Case("dataset-without-csrf", ("dataset-list", [], {"name": "x"}, "budget_officer"), CSRF_REFUSED),
    Case("fund-without-csrf", ("fund-list", [], {"code": "NO-CSRF"}, "budget_officer"), CSRF_REFUSED),
    Case("logout-without-csrf", ("logout", [], {}, "drafter"), CSRF_REFUSED),
    Case("api-session-push-without-csrf", ("api-rules", [], document(rule="no-csrf"), "drafter"), "CSRF Failed"),
]


@pytest.mark.parametrize("case", params(WITHOUT_CSRF))
def test_posts_without_a_csrf_token_are_refused(case, in_review, request):
    """A signed-in person's POST without the CSRF token is 403 saying so; nothing is stored."""
    name, args, data, who = case.send
    client = Client(enforce_csrf_checks=True)
    client.force_login(request.getfixturevalue(who))
    if isinstance(data, dict):
        data = {key: in_review.content_hash if value is SEEN else value for key, value in data.items()}
        before, mark = stored(), last_audit_id()
        response = client.post(reverse(name, args=args), data)
    else:
        before, mark = stored(), last_audit_id()
        response = client.post(reverse(name, args=args), data, content_type=JSON)
    assert_page_refusal(response, case.says, status=403)
    assert_nothing_stored(before, mark)


# ---------------------------------------------------------------------------------------------
# Portal: the dataset upload form (CSV and Parquet populations)

FORMULA = "begins with"  # the refusal of a cell a spreadsheet would run as a formula
NOT_FINITE = "only finite numbers are allowed"
DATASETS = [
    Case("formula-equals-cmd", b"id,county,weight\n1,=cmd|' /C calc'!A0,1\n", FORMULA),
    Case("formula-hyperlink", b'id,note,weight\n1,"=HYPERLINK(""http://evil.example"",""x"")",1\n', FORMULA),
    Case("formula-plus", b"id,note,weight\n1,+1+1,1\n", FORMULA),
    Case("formula-minus", b"id,note,weight\n1,-2+3,1\n", FORMULA),
    Case("formula-at", b"id,note,weight\n1,@SUM(A1:A9),1\n", FORMULA),
    Case("formula-after-a-tab", b'id,note,weight\n1,"\t=1+1",1\n', FORMULA),
    Case("formula-after-a-carriage-return", b'id,note,weight\n1,"\r=1+1",1\n', FORMULA),
    Case("formula-in-the-header", b"id,=1+1,weight\n1,a,1\n", FORMULA),
    Case("formula-among-good-rows", b"id,county,weight\n1,Lane,1\n2,Marion,1\n3,=2+5,1\n", FORMULA),
    Case("weight-1e400", b"id,weight\n1,1\n2,1e400\n", NOT_FINITE),
    Case("income-1e400", b"id,income,weight\n1,52000,1\n2,1e400,1\n", NOT_FINITE),
    Case("income-minus-1e400", b"id,income,weight\n1,-1e400,1\n", NOT_FINITE),
    Case("weight-nan", b"id,weight\n1,NaN\n", "The column 'weight' must be a number on every row: line 2 has 'NaN'"),
    Case("weight-infinity", b"id,weight\n1,Infinity\n", "must be a number on every row"),
    Case("weight-arabic-indic", "id,weight\n1,١٢٣\n".encode(), "must be a number on every row: line 2 has '١٢٣'"),
    Case("age-arabic-indic", "id,age,weight\n1,40,1\n2,٤٠,1\n".encode(), "mixes numbers and text"),
    Case("weight-negative", b"id,weight\n1,-5\n", "is negative"),
    Case("nul-byte", b"id,county,weight\n1,La\x00ne,1\n", "NUL byte on line 2"),
    Case("utf16", "id,county,weight\n1,Lane,1\n".encode("utf-16"), "is not UTF-8 text"),
    Case("lone-surrogate-bytes", b"id,county,weight\n1,\xed\xa0\x80,1\n", "is not UTF-8 text"),
    Case("latin1", b"id,county,weight\n1,Mal\xe9,1\n", "byte 0xE9 on line 2"),
    Case("duplicate-header", b"id,age,age,weight\n1,2,3,1\n", "names the column 'age' twice"),
    Case("header-only", b"id,weight\n", "has a header row but no data rows"),
    Case("empty-file", b"", "The file is empty (0 bytes)."),
    Case("ragged-row", b"id,weight\n1,1\n2\n", "wrong number of fields"),
    Case("broken-quoting", b'id,note,weight\n1,"open,1\n', "the quoting is broken"),
    Case("traversal-filename", b"id,weight\n1,1\n", "could not be read as Parquet", {"filename": "../../../x.parquet"}),
    Case("executable-filename", b"id,weight\n1,1\n", "is neither", {"filename": "people.exe"}),
    Case("over-the-size-limit", b"id,weight\n" + b"1,1\n" * 300, "the limit is 1,000 bytes", {"max": 1000}),
    Case("name-blank", b"id,weight\n1,1\n", "Give the dataset a name", {"name": "   "}),
    Case("name-201-characters", b"id,weight\n1,1\n", "at most 200 characters", {"name": "x" * 201}),
    Case("name-with-a-nul", b"id,weight\n1,1\n", NUL_REFUSED, {"name": "Cen\x00sus"}),
]


@pytest.mark.parametrize("case", params(DATASETS))
def test_dataset_upload_form_refuses(case, budget_officer, settings, tmp_path):
    """A hostile population file or name: a 400 page saying what and where; no Dataset row and no file."""
    settings.DATA_DIR = tmp_path
    settings.PDP_DATASET_MAX_BYTES = case.extra.get("max", settings.PDP_DATASET_MAX_BYTES)
    client = portal_client(budget_officer)
    upload = SimpleUploadedFile(case.extra.get("filename", "people.csv"), case.send, content_type="text/csv")
    before, mark = stored(), last_audit_id()
    response = client.post(reverse("dataset-list"), {"name": case.extra.get("name", "Census"), "file": upload})
    assert_page_refusal(response, case.says)
    assert_nothing_stored(before, mark, refused_by="dataset.upload" if reaches_service(case) else None)
    assert not Dataset.objects.exists() and not (tmp_path / "datasets").exists()


# ---------------------------------------------------------------------------------------------
# Portal: the fund forms (create and edit)

NOT_AN_AMOUNT = "The appropriation must be an amount in dollars"
TOO_LARGE = "The appropriation is too large"
NOT_A_YEAR = "The fiscal year must be a year like 2025"
NOT_A_CODE = "The fund code must be upper-case letters and digits"
NEW_FUND = {"code": "DRF-FY2030", "name": "Disaster Relief", "appropriation": "1000000", "fiscal_year": "2030"}
FUNDS = [
    Case("appropriation-1e400", {"appropriation": "1e400"}, TOO_LARGE),
    Case("appropriation-minus-1e400", {"appropriation": "-1e400"}, "cannot be negative"),
    Case("appropriation-1e30", {"appropriation": "1e30"}, TOO_LARGE),
    Case("appropriation-1e308", {"appropriation": "1e308"}, TOO_LARGE),
    Case("appropriation-10-to-the-30", {"appropriation": "10^30"}, NOT_AN_AMOUNT),
    Case("appropriation-31-digits", {"appropriation": "1" + "0" * 30}, TOO_LARGE),
    Case("appropriation-nan", {"appropriation": "NaN"}, NOT_AN_AMOUNT),
    Case("appropriation-signalling-nan", {"appropriation": "sNaN"}, NOT_AN_AMOUNT),
    Case("appropriation-infinity", {"appropriation": "Infinity"}, NOT_AN_AMOUNT),
    Case("appropriation-minus-infinity", {"appropriation": "-Infinity"}, NOT_AN_AMOUNT),
    Case("appropriation-arabic-indic", {"appropriation": "١٢٣"}, NOT_AN_AMOUNT),
    Case("appropriation-fullwidth", {"appropriation": "１２３"}, NOT_AN_AMOUNT),
    Case("appropriation-hex", {"appropriation": "0x10"}, NOT_AN_AMOUNT),
    Case("appropriation-fraction-of-a-cent", {"appropriation": "1.001"}, "at most two decimal places"),
    Case("appropriation-41-characters", {"appropriation": "1" * 41}, "at most 40 characters"),
    Case("fiscal-year-arabic-indic", {"fiscal_year": "٢٠٣٠"}, NOT_A_YEAR),
    Case("fiscal-year-decimal", {"fiscal_year": "2030.0"}, NOT_A_YEAR),
    Case("fiscal-year-1e3", {"fiscal_year": "2e3"}, NOT_A_YEAR),
    Case("code-traversal", {"code": "../DRF"}, NOT_A_CODE),
    Case("code-encoded-traversal", {"code": "%2e%2e%2fDRF"}, NOT_A_CODE),
    Case("code-absolute-path", {"code": "/etc/passwd"}, NOT_A_CODE),
    Case("code-rtl-override", {"code": "DRF\u202e-FY"}, NOT_A_CODE),
    Case("code-zero-width-joiner", {"code": "DRF\u200d-FY"}, NOT_A_CODE),
    Case("code-arabic-indic-digits", {"code": "DRF-FY٢٠٢٥"}, NOT_A_CODE),
    Case("code-with-a-nul", {"code": "DRF\x00"}, NUL_REFUSED),
    Case("code-51-characters", {"code": "D" * 51}, "at most 50 characters"),
    Case("name-201-characters", {"name": "x" * 201}, "at most 200 characters"),
]
FUND_EDITS = [
    Case("edit-appropriation-1e400", {"appropriation": "1e400"}, TOO_LARGE),
    Case("edit-appropriation-arabic-indic", {"appropriation": "١٠٠٠"}, NOT_AN_AMOUNT),
    Case("edit-appropriation-infinity", {"appropriation": "inf"}, NOT_AN_AMOUNT),
    Case("edit-fiscal-year-arabic-indic", {"fiscal_year": "٢٠٢٦"}, NOT_A_YEAR),
    Case("edit-name-with-a-nul", {"name": "Relief\x00"}, NUL_REFUSED),
]


def reaches_service(case):
    return case.says != NUL_REFUSED and "characters" not in case.says


@pytest.mark.parametrize("case", params(FUNDS))
def test_fund_form_refuses(case, budget_officer):
    """A hostile fund: a 400 page with the reason at its field; no fund is created; the refusal is audited."""
    client = portal_client(budget_officer)
    before, mark = stored(), last_audit_id()
    response = client.post(reverse("fund-list"), {**NEW_FUND, **case.send})
    assert_page_refusal(response, case.says)
    assert_nothing_stored(before, mark, refused_by="fund.create" if reaches_service(case) else None)


@pytest.mark.parametrize("case", params(FUND_EDITS))
def test_fund_edit_form_refuses(case, budget_officer):
    """A hostile change to a fund: a 400 page with the reason; the fund keeps its values; the refusal is audited."""
    fund = Fund.objects.create(code="DRF-FY2025", name="Relief", appropriation=500, fiscal_year=2025)
    client = portal_client(budget_officer)
    fields = {"name": fund.name, "appropriation": "500.00", "fiscal_year": "2025", **case.send}
    before, mark = stored(), last_audit_id()
    response = client.post(reverse("fund-edit", args=[fund.pk]), fields)
    assert_page_refusal(response, case.says)
    assert_nothing_stored(before, mark, refused_by="fund.change" if reaches_service(case) else None)


# ---------------------------------------------------------------------------------------------
# The command line: `hms`, its HTTP carried by Django's test client

SERVER = "http://testserver"


@pytest.fixture
def hms(monkeypatch, tmp_path, capsys):
    """hms.login(user) stores a token for `user`; hms.run(*args) → (exit code, stdout, stderr)."""
    monkeypatch.setenv("HMS_CONFIG_DIR", str(tmp_path / "hms-config"))
    monkeypatch.setenv("HMS_SERVER", SERVER)
    monkeypatch.setattr("urllib.request.urlopen", HttpThroughTestClient())

    class Hms:
        @staticmethod
        def login(user):
            TokenStore().remember(SERVER, user.username, token_for(user))

        @staticmethod
        def run(*args, stdin=None):
            if stdin is not None:
                monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
            capsys.readouterr()
            code = hms_cli.main([str(arg) for arg in args])
            captured = capsys.readouterr()
            return code, captured.out, captured.err

    return Hms


def cli(id, args, says, exit=1, stdin=None):
    return Case(id, args, says, {"exit": exit, "stdin": stdin})


CLI_PUSH_DOCUMENTS = [
    BY_ID[id]
    for id in (
        "trailing-comma", "duplicate-top-level", "nan", "1e400", "5000-digit-integer", "10k-deep-arrays",
        "utf16-with-bom", "top-level-array", "empty-body", "rule-dot-dot-slash", "rule-rtl-override",
        "lone-surrogate-escape",
    )
]  # fmt: skip
CLI_WITHOUT_STATE = [
    cli("push-missing-file", ("rule", "push", "/no/such/folder/../rule.json"), "cannot read /no/such", exit=2),
    cli("push-a-folder", ("rule", "push", "/"), "cannot read /", exit=2),
    # Larger than the portal takes: refused before anything is sent, an endless file included.
    cli("push-dev-zero", ("rule", "push", "/dev/zero"), "larger than the portal's limit of 1,048,576 bytes", exit=2),
    cli("deploy-version-1e400", ("rule", "deploy", SLUG, "--version", "1e400"), "'1e400' is not a valid integer", 2),
    cli("deploy-version-arabic-indic", ("rule", "deploy", SLUG, "--version", "١"), "is not a valid integer", 2),
    cli("deploy-env-traversal", ("rule", "deploy", SLUG, "--env", "../production"), "'../production' is not one of", 2),
    cli("rollback-blank-reason", ("rule", "rollback", SLUG, "--reason", "   "), "a rollback needs --reason", 2),
    cli("login-user-nul", ("login", "--user", "coun\x00sel", "--password-stdin"), "NUL character", stdin=PASSWORD),
    cli("login-user-151", ("login", "--user", "c" * 151, "--password-stdin"), "username: Ensure", stdin=PASSWORD),
    cli("login-user-rtl-override", ("login", "--user", "\u202elesnuoc", "--password-stdin"), "Unable to log in", stdin=PASSWORD),
    cli("login-password-4097", ("login", "--user", "counsel", "--password-stdin"), "password: Ensure", stdin="x" * 4097),
]  # fmt: skip
CLI_IN_REVIEW = [
    cli("review-slug-traversal", ("rule", "review", "../../auth/token", "--approve"), "hms: 404"),
    cli("review-slug-encoded-traversal", ("rule", "review", "%2e%2e%2f", "--approve"), "hms: 404"),
    cli("review-slug-nul", ("rule", "review", "wildfire\x00aid", "--approve"), "hms: 404"),
    cli("review-slug-absolute", ("rule", "review", "/etc/passwd", "--approve"), "hms: 404"),
    cli("review-version-negative", ("rule", "review", SLUG, "--approve", "--version", "-1"), "hms: 404"),
    cli("review-role-traversal", ("rule", "review", SLUG, "--approve", "--role", "../legal"), "hms: 400 invalid_input"),
    cli("review-comment-nul", ("rule", "review", SLUG, "--reject", "--comment", "no\x00"), "NUL character"),
    cli("review-comment-5001", ("rule", "review", SLUG, "--reject", "--comment", "x" * 5001), "comment: Ensure"),
]
CLI_IN_PRODUCTION = [
    cli("rollback-to-traversal", ("rule", "rollback", SLUG, "--to", "../v1", "--reason", "r"), "Roll back to 'previous'"),
    cli("rollback-to-arabic-indic", ("rule", "rollback", SLUG, "--to", "v٠", "--reason", "r"), "Roll back to 'previous'"),
    cli("rollback-reason-nul", ("rule", "rollback", SLUG, "--reason", "r\x00"), "NUL character"),
    cli("rollback-reason-zero-width", ("rule", "rollback", SLUG, "--reason", "\u200b"), "A rollback needs a reason."),
    cli("rollback-reason-2001", ("rule", "rollback", SLUG, "--reason", "x" * 2001), "reason: Ensure"),
    cli("deploy-version-negative", ("rule", "deploy", SLUG, "--version", "-1"), "version: Ensure"),
    cli("deploy-note-2001", ("rule", "deploy", SLUG, "--note", "x" * 2001), "note: Ensure"),
    cli("status-slug-traversal", ("rule", "status", "../../../admin"), "hms: 404"),
]  # fmt: skip


def assert_cli_refused(hms, args, says, *, exit=1, stdin=None, starts="hms: "):
    """A non-zero exit, nothing on stdout, one line on stderr saying why; nothing stored."""
    before, mark = stored(), last_audit_id()
    code, out, err = hms.run(*args, stdin=stdin)
    assert code == exit, (code, out, err)
    assert out == "" and err.startswith(starts) and says in err and err.count("\n") == 1, err
    assert_nothing_stored(before, mark)


@pytest.mark.parametrize("case", params(CLI_PUSH_DOCUMENTS))
def test_cli_push_refuses_the_document(case, hms, drafter, tmp_path):
    """`hms rule push FILE` with a hostile document exits 1 with the portal's reason on stderr; nothing is stored."""
    hms.login(drafter)
    path = tmp_path / "rule.json"
    path.write_bytes(case.send)
    assert_cli_refused(hms, ("rule", "push", path), case.says, starts="hms: 400 invalid_document: ")


@pytest.mark.parametrize("case", params(CLI_WITHOUT_STATE))
def test_cli_refuses_hostile_arguments(case, hms, counsel):
    """Unreadable files, invalid options and hostile names exit non-zero with one line on stderr; nothing is stored."""
    assert_cli_refused(hms, case.send, case.says, exit=case.extra["exit"], stdin=case.extra["stdin"])


@pytest.mark.parametrize("case", params(CLI_IN_REVIEW))
def test_cli_review_refuses_hostile_arguments(case, hms, in_review, counsel):
    """`hms rule review` with a hostile rule name, role or comment exits 1 saying why; nothing is stored."""
    hms.login(counsel)
    assert_cli_refused(hms, case.send, case.says, exit=case.extra["exit"])


@pytest.mark.parametrize("case", params(CLI_IN_PRODUCTION))
def test_cli_release_commands_refuse_hostile_arguments(case, hms, in_production, release_manager):
    """`hms rule rollback/deploy/status` with hostile values exit 1 saying why; no pointer moves."""
    hms.login(release_manager)
    assert_cli_refused(hms, case.send, case.says, exit=case.extra["exit"])


# ---------------------------------------------------------------------------------------------
# The admin: its forms and actions

STRONG = "Hostile-catalogue-42"
ENTER_A_VALID_USERNAME = "Enter a valid username"
ADMIN_FORMS = [
    Case("person-username-traversal", ("admin:auth_user_add", {"username": "../admin"}), ENTER_A_VALID_USERNAME),
    Case("person-username-encoded", ("admin:auth_user_add", {"username": "%2e%2e%2fadmin"}), ENTER_A_VALID_USERNAME),
    Case("person-username-absolute", ("admin:auth_user_add", {"username": "/root"}), ENTER_A_VALID_USERNAME),
    Case("person-username-nul", ("admin:auth_user_add", {"username": "ad\x00min"}), NUL_REFUSED),
    Case("person-username-151", ("admin:auth_user_add", {"username": "a" * 151}), "at most 150 characters"),
    Case("person-username-rtl-override", ("admin:auth_user_add", {"username": "\u202enimda"}), ENTER_A_VALID_USERNAME),
    Case("person-username-zero-width", ("admin:auth_user_add", {"username": "ad\u200dmin"}), ENTER_A_VALID_USERNAME),
    Case("group-name-151", ("admin:auth_group_add", {"name": "g" * 151}), "at most 150 characters"),
    Case("group-name-nul", ("admin:auth_group_add", {"name": "Ops\x00"}), NUL_REFUSED),
    Case("dataset-name-nul", ("admin:budget_dataset_change", {"name": "Census\x00"}), NUL_REFUSED),
    Case("dataset-name-201", ("admin:budget_dataset_change", {"name": "d" * 201}), "at most 200 characters"),
    Case("dataset-name-blank", ("admin:budget_dataset_change", {"name": ""}), "This field is required."),
    Case("test-account-nul", ("admin:deployments_testaccount_add", {"account_id": "A\x00"}), NUL_REFUSED),
    Case("test-account-101", ("admin:deployments_testaccount_add", {"account_id": "a" * 101}), "at most 100 characters"),
    Case("test-account-blank", ("admin:deployments_testaccount_add", {"account_id": ""}), "This field is required."),
]  # fmt: skip


@pytest.mark.parametrize("case", params(ADMIN_FORMS))
def test_admin_forms_refuse(case, superuser):
    """A hostile value in an admin form is shown as that form's error; nothing is stored."""
    name, fields = case.send
    args = []
    if name == "admin:budget_dataset_change":
        dataset = Dataset.objects.create(
            name="Census", path="datasets/x.parquet", format="csv", row_count=1, sha256="0" * 64, size_bytes=1
        )
        args = [dataset.pk]
    if name == "admin:auth_user_add":
        fields = {"usable_password": "true", "password1": STRONG, "password2": STRONG, **fields}
    client = portal_client(superuser)
    before, mark = stored(), last_audit_id()
    response = client.post(reverse(name, args=args), fields)
    assert response.status_code == 200, response.status_code  # the form again, not a redirect
    assert any(case.says in message for message in form_errors(response)), form_errors(response)
    assert_nothing_stored(before, mark)


def test_admin_fund_add_is_refused(superuser):
    """Funds change only on the portal: the admin's add form is 403, even for a hostile 1e400 appropriation."""
    client = portal_client(superuser)
    before, mark = stored(), last_audit_id()
    fields = {"code": "DRF-X", "name": "x", "appropriation": "1e400", "fiscal_year": "2030"}
    response = client.post(reverse("admin:budget_fund_add"), fields)
    assert response.status_code == 403
    assert_nothing_stored(before, mark)


@pytest.mark.parametrize(
    "reason",
    [
        pytest.param("", id="rollback-action-reason-empty"),
        pytest.param(" \t ", id="rollback-action-reason-blank"),
        pytest.param("\u200b\u200d", id="rollback-action-reason-zero-width"),
        pytest.param("oops\x00", id="rollback-action-reason-nul"),
    ],
)
def test_admin_rollback_action_refuses_without_a_reason(reason, in_production, superuser):
    """The admin's Roll back action without a readable reason says so as an error; no pointer moves; it is audited."""
    from deployments.models import Release

    release = Release.objects.get(rule__slug=SLUG, environment__name="production")
    client = portal_client(superuser)
    before, mark = stored(), last_audit_id()
    data = {"action": "roll_back", "_selected_action": [release.pk], "confirm": "yes", "reason": reason}
    response = client.post(reverse("admin:deployments_release_changelist"), data, follow=True)
    assert response.status_code == 200
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    expected = "contains a NUL character" if "\x00" in reason else "A rollback needs a reason."
    assert any(expected in message for message in errors), errors
    assert_nothing_stored(before, mark, refused_by="release.rollback")
