"""API statuses and error bodies: 400 bad input, 404 unknown, 409 stale or wrong state; nothing changes."""

import pytest

from audit.models import AuditEvent
from tests.api.support import assert_error_body, audit_ids, state

SLUG = "wildfire-aid-2024"
REVIEW = f"/api/v1/rules/{SLUG}/versions/1/reviews/"
ROLLBACK = f"/api/v1/rules/{SLUG}/rollback/"
PROMOTE = f"/api/v1/rules/{SLUG}/promote/"


def post_raw(client, path, raw):
    return client.post(path, data=raw, content_type="application/json")


def assert_refused_unchanged(call, status, code):
    """The call answers `status` with the JSON error `code`; no state changes; at most one refused event."""
    before, before_ids = state(), audit_ids()
    error = assert_error_body(call(), status, code)
    assert state() == before
    new = list(AuditEvent.objects.exclude(id__in=before_ids))
    assert len(new) <= 1 and all(e.outcome == "refused" for e in new)
    return error, new


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "invalid_document"),
        (b'{"decision": "approve", "decision": "reject", "expected_hash": "' + b"a" * 64 + b'"}', "invalid_document"),
        (b"[1, 2]", "invalid_document"),
        (b'{"decision": "approve", "expected_hash": NaN}', "invalid_document"),
        (b'{"x": ' + b"[" * 5000 + b"]" * 5000 + b"}", "invalid_document"),
    ],
    ids=["bad-json", "duplicate-keys", "not-an-object", "nan", "deep"],
)
def test_unreadable_review_body_is_400(in_review, api, counsel, raw, code):
    """A review body that is not strict JSON is 400 with the parser's message."""
    error, events = assert_refused_unchanged(lambda: post_raw(api(counsel), REVIEW, raw), 400, code)
    assert events == []


@pytest.mark.parametrize(
    "body",
    [
        {"decision": "approve", "expected_hash": "XYZ"},
        {"decision": "approve", "expected_hash": "A" * 64},
        {"decision": "approve", "expected_hash": "a" * 63},
        {"decision": "approve"},
        {"decision": "maybe", "expected_hash": "a" * 64},
        {"expected_hash": "a" * 64},
    ],
    ids=["short", "upper-case", "63-chars", "missing-hash", "bad-decision", "missing-decision"],
)
def test_malformed_review_request_is_400(in_review, api, counsel, body):
    """A bad expected_hash format or decision is 400 naming the field."""
    error, _ = assert_refused_unchanged(lambda: api(counsel).post(REVIEW, body, format="json"), 400, "invalid")
    assert set(error["details"]) <= {"decision", "expected_hash"}


def test_unknown_role_is_400(in_review, api, counsel):
    """Signing as a role that does not exist is 400, recorded as refused."""
    body = {"decision": "approve", "expected_hash": in_review.content_hash, "role": "admin"}
    error, events = assert_refused_unchanged(
        lambda: api(counsel).post(REVIEW, body, format="json"), 400, "invalid_input"
    )
    assert [e.action for e in events] == ["review.approve"]


def test_rejection_without_comment_is_400(in_review, api, counsel):
    """A rejection must carry a comment."""
    body = {"decision": "reject", "expected_hash": in_review.content_hash}
    assert_refused_unchanged(lambda: api(counsel).post(REVIEW, body, format="json"), 400, "invalid_input")


def test_stale_hash_is_409(in_review, api, counsel):
    """A well-formed hash that is not the version's is 409 stale_hash, with the current hash in the details."""
    body = {"decision": "approve", "expected_hash": "a" * 64}
    error, events = assert_refused_unchanged(lambda: api(counsel).post(REVIEW, body, format="json"), 409, "stale_hash")
    assert error["details"] == {"content_hash": in_review.content_hash}
    assert [e.outcome for e in events] == ["refused"]


def test_review_of_a_version_not_in_review_is_409(on_staging, api, counsel):
    """Approving an already approved version is 409 invalid_state."""
    body = {"decision": "approve", "expected_hash": on_staging.content_hash}
    assert_refused_unchanged(lambda: api(counsel).post(REVIEW, body, format="json"), 409, "invalid_state")


def test_promote_with_nothing_on_staging_is_409(in_review, api, release_manager):
    """Promoting a rule with nothing on staging is 409 release_refused."""
    assert_refused_unchanged(lambda: api(release_manager).post(PROMOTE, {}, format="json"), 409, "release_refused")


def test_promote_already_live_is_409(in_production, api, release_manager):
    """Promoting what production already serves is 409 invalid_state."""
    assert_refused_unchanged(lambda: api(release_manager).post(PROMOTE, {}, format="json"), 409, "invalid_state")


def test_rollback_without_reason_is_400(in_production, api, release_manager):
    """The reason is required: missing or blank is 400."""
    error, _ = assert_refused_unchanged(lambda: api(release_manager).post(ROLLBACK, {}, format="json"), 400, "invalid")
    assert "reason" in error["details"]
    assert_refused_unchanged(
        lambda: api(release_manager).post(ROLLBACK, {"reason": "   "}, format="json"), 400, "invalid"
    )


@pytest.mark.parametrize(
    ("to", "status", "code"),
    [("latest", 400, "invalid_input"), ("v9", 400, "invalid_input"), ("v1", 409, "invalid_state")],
)
def test_bad_rollback_targets(in_production, api, release_manager, to, status, code):
    """A target that is not previous/vN, or names no version, is 400; the version already live is 409."""
    body = {"reason": "r", "to": to}
    assert_refused_unchanged(lambda: api(release_manager).post(ROLLBACK, body, format="json"), status, code)


def test_rollback_to_a_version_never_live_there_is_409(on_staging, api, release_manager):
    """Rolling production back to a version it never served is 409 release_refused."""
    body = {"reason": "r", "to": "v1"}
    assert_refused_unchanged(lambda: api(release_manager).post(ROLLBACK, body, format="json"), 409, "release_refused")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/rules/no-such-rule/",
        "/api/v1/rules/no-such-rule/versions/1/",
        f"/api/v1/rules/{SLUG}/versions/9/",
    ],
)
def test_unknown_rule_or_version_is_404(in_review, api, counsel, path):
    """An unknown rule or version number is 404 with the JSON error body."""
    assert_refused_unchanged(lambda: api(counsel).get(path), 404, "not_found")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/rules/no-such-rule/versions/1/reviews/",
        f"/api/v1/rules/{SLUG}/versions/9/reviews/",
        "/api/v1/rules/no-such-rule/promote/",
        "/api/v1/rules/no-such-rule/rollback/",
    ],
)
def test_writes_to_unknown_rule_or_version_are_404(in_review, api, counsel, release_manager, path):
    """Writes to an unknown rule or version are 404 and record nothing."""
    who = counsel if "reviews" in path else release_manager
    body = {"decision": "approve", "expected_hash": "a" * 64, "reason": "r"}
    _, events = assert_refused_unchanged(lambda: api(who).post(path, body, format="json"), 404, "not_found")
    assert events == []


def test_identical_push_is_409(in_review, api, drafter):
    """Pushing the latest version's content again is 409 invalid_state."""
    from tests.conftest import document

    assert_refused_unchanged(lambda: post_raw(api(drafter), "/api/v1/rules/", document()), 409, "invalid_state")


@pytest.mark.parametrize(
    "raw",
    [b'{"rule": "a", "rule": "b"}', b"{nope", b'{"rule": "Bad Slug"}', b"9" * 5000, b'{"rule": "a", "x": "\xff"}'],
    ids=["duplicate-keys", "bad-json", "bad-slug", "long-integer", "bad-utf8"],
)
def test_bad_push_is_400(db, api, drafter, raw):
    """A document that cannot be read is 400 invalid_document, recorded as a refused push."""
    _, events = assert_refused_unchanged(lambda: post_raw(api(drafter), "/api/v1/rules/", raw), 400, "invalid_document")
    assert [(e.action, e.outcome) for e in events] == [("rule.push", "refused")]


def test_push_over_one_mebibyte_is_400(db, api, drafter):
    """A document over 1 MiB is refused with its size, as JSON."""
    raw = b'{"rule": "a", "title": "' + b"x" * (1024 * 1024) + b'"}'
    error, _ = assert_refused_unchanged(lambda: post_raw(api(drafter), "/api/v1/rules/", raw), 400, "invalid_document")
    assert "1 MiB" in error["message"]


def test_empty_push_is_400(db, api, drafter):
    """An empty body is 400 "The document is empty.", recorded as a refused push."""
    error, events = assert_refused_unchanged(
        lambda: post_raw(api(drafter), "/api/v1/rules/", b""), 400, "invalid_document"
    )
    assert error["message"] == "The document is empty."


def test_a_trailing_comma_is_reported_at_the_comma(api, drafter):
    """A pushed document with a trailing comma: 400 invalid_document, its line and column those of the comma."""
    raw = b'{\n  "rule": "wildfire-aid-2024",\n  "cost": 5,\n}'
    error, _ = assert_refused_unchanged(lambda: post_raw(api(drafter), "/api/v1/rules/", raw), 400, "invalid_document")
    assert error["details"] == {"line": 3, "column": 12}
    assert error["message"].startswith("Not valid JSON: a trailing comma at line 3, column 12")
