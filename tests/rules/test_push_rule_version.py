"""rules/services.py push_rule_version: numbering, superseding, refusals and the lint hand-off."""

import json

import pytest
from guardian.models import GroupObjectPermission

from checks.models import CheckRun
from engine.document import RESERVED_RULE_IDS, canonical_text, content_hash
from engine.errors import InvalidDocument
from pdp_portal import permissions
from pdp_portal.exceptions import InvalidTransition, NotPermitted
from rules.models import Rule, RuleVersion
from rules.services import push_rule_version
from tests.conftest import document, last_event, pipeline_events
from tests.deployments.support import approve_both, events


def test_first_push_creates_the_rule_and_v1(push, drafter):
    """The first push creates the rule, its v0 release pointers and v1, recorded as rule.push."""
    version = push(actor=drafter)
    rule = version.rule
    assert (rule.slug, rule.title, rule.program, rule.created_by) == (
        "wildfire-aid-2024", "Wildfire Relief Payment 2024", "disaster-relief", drafter,
    )  # fmt: skip
    assert version.number == 1
    assert version.uploaded_by == drafter
    expected_canonical = canonical_text(json.loads(document()))
    assert version.document == expected_canonical
    assert version.content_hash == content_hash(expected_canonical)
    assert sorted((r.environment.name, r.version_id) for r in rule.releases.all()) == [
        ("production", None), ("staging", None),
    ]  # fmt: skip
    event = last_event("rule.push")
    assert (event.outcome, event.actor, event.target_type, event.target_id, event.rule_slug) == (
        "done", drafter, "rules.ruleversion", str(version.pk), "wildfire-aid-2024",
    )  # fmt: skip
    assert event.data == {"number": 1, "content_hash": version.content_hash, "new_rule": True, "superseded": []}


def test_second_push_is_v2(push, drafter, other_drafter):
    """A push of new content to an existing rule is the next number, by whoever pushed it."""
    v1 = push(actor=drafter)
    v2 = push(document(title="Wildfire Relief Payment 2024 (amended)"), actor=other_drafter)
    assert (v1.rule_id, v2.number, v2.uploaded_by) == (v2.rule_id, 2, other_drafter)
    assert Rule.objects.get().title == "Wildfire Relief Payment 2024 (amended)"
    event = last_event("rule.push")
    assert (event.actor, event.data["number"], event.data["new_rule"], event.data["superseded"]) == (
        other_drafter, 2, False, [1],
    )  # fmt: skip


def test_push_supersedes_a_version_in_review_and_revokes_its_permissions(in_review, push, drafter, counsel):
    """A version in review is superseded by a newer push, and its reviewers lose their sign-off permission."""
    assert permissions.signoff_roles(counsel, in_review) == {"legal"}
    assert GroupObjectPermission.objects.filter(object_pk=str(in_review.pk)).count() == 2
    v2 = push(document(amount=4000, tests=None), actor=drafter)
    in_review.refresh_from_db()
    assert in_review.status == "superseded"
    assert permissions.signoff_roles(counsel, in_review) == set()
    assert GroupObjectPermission.objects.filter(object_pk=str(in_review.pk)).count() == 0
    assert v2.status == "in_review"
    assert permissions.signoff_roles(counsel, v2) == {"legal"}
    assert events("rule.push")[-1].data["superseded"] == [1]


def test_push_supersedes_an_approved_version_but_leaves_it_live(in_review, push, drafter, counsel, budget_officer):
    """An approved version live on staging is superseded by a newer push; what is live does not change."""
    approve_both(in_review, counsel=counsel, budget_officer=budget_officer)
    assert in_review.status == "approved"
    push(document(amount=4000, tests=None), actor=drafter)
    in_review.refresh_from_db()
    assert in_review.status == "superseded"
    assert in_review.rule.releases.get(environment__name="staging").version_id == in_review.pk
    event = last_event("rule.push")
    assert (event.outcome, event.data["number"], event.data["superseded"]) == ("done", 2, [1])


def test_push_cancels_the_unfinished_checks_of_the_version_it_supersedes(drafter, django_capture_on_commit_callbacks):
    """A version still queued for lint is superseded and its lint check cancelled."""
    with django_capture_on_commit_callbacks(execute=False):
        v1 = push_rule_version(document(), actor=drafter)
        push_rule_version(document(amount=4000, tests=None), actor=drafter)
    v1.refresh_from_db()
    lint = v1.checks.get()
    assert (v1.status, lint.status, lint.progress_note) == (
        "superseded", "cancelled", "cancelled: a newer version was pushed",
    )  # fmt: skip
    assert lint.finished_at is not None
    assert [e.data["superseded"] for e in events("rule.push")] == [[], [1]]


def test_finished_versions_are_not_superseded(push, drafter):
    """A version that failed its checks keeps its status when a newer one is pushed."""
    failed = push(document(valid_from="2026-01-01"), actor=drafter)
    assert failed.status == "lint_failed"
    push(actor=drafter)
    failed.refresh_from_db()
    assert failed.status == "lint_failed"
    assert events("rule.push")[-1].data["superseded"] == []


def test_identical_content_to_the_latest_is_refused(in_review, drafter):
    """Pushing the latest version's content again, even re-formatted, is refused (409) and recorded."""
    reformatted = json.dumps(json.loads(document()), indent=4, sort_keys=False).encode()
    before = pipeline_events().count()
    with pytest.raises(InvalidTransition) as info:
        push_rule_version(reformatted, actor=drafter)
    assert info.value.status == 409
    assert "already Wildfire-Aid-2024 v1 (in review)" in info.value.message
    assert RuleVersion.objects.count() == 1
    assert pipeline_events().count() == before + 1
    event = last_event("rule.push")
    assert (event.outcome, event.actor, event.data["code"]) == ("refused", drafter, "invalid_state")
    assert event.data["reason"] == info.value.message


def test_identical_content_to_a_failed_version_may_be_pushed_again(push, drafter):
    """Re-pushing content whose checks failed is allowed (a retry), as the next number."""
    failed = push(document(valid_from="2026-01-01"), actor=drafter)
    again = push(document(valid_from="2026-01-01"), actor=drafter)
    assert (failed.content_hash, again.number) == (again.content_hash, 2)
    assert [(e.outcome, e.data["number"]) for e in events("rule.push")] == [("done", 1), ("done", 2)]


@pytest.mark.parametrize("who", ["counsel", "budget_officer", "release_manager", "outsider"])
def test_non_drafter_is_refused(db, who, request):
    """Someone without the drafter role is refused (403); a refusal is recorded and no rule is created."""
    actor = request.getfixturevalue(who)
    with pytest.raises(NotPermitted) as info:
        push_rule_version(document(), actor=actor)
    assert info.value.status == 403
    assert not Rule.objects.exists() and not RuleVersion.objects.exists() and not CheckRun.objects.exists()
    (event,) = events("rule.push")
    assert (event.outcome, event.actor, event.data["code"]) == ("refused", actor, "forbidden")
    assert event.data["bytes"] == len(document())
    assert "drafter role" in event.data["reason"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"rule": "wildfire-aid-2024", "rule": "x"}',
        b"{not json",
        b"[]",
        b"",
        b'{"title": "no rule named"}',
        b'{"rule": "Not A Slug"}',
    ],
)
def test_bad_document_is_refused(raw, drafter):
    """A document that cannot be read or names no valid rule is refused (400), recorded, and nothing is created."""
    with pytest.raises(InvalidDocument) as info:
        push_rule_version(raw, actor=drafter)
    assert info.value.status == 400
    assert not Rule.objects.exists() and not RuleVersion.objects.exists()
    (event,) = events("rule.push")
    assert (event.outcome, event.actor, event.data["code"], event.data["reason"]) == (
        "refused", drafter, "invalid_document", info.value.message,
    )  # fmt: skip


def test_lint_is_enqueued_only_after_commit(drafter, django_capture_on_commit_callbacks):
    """The push leaves a queued lint check and one on-commit callback; lint runs only when it fires."""
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        version = push_rule_version(document(), actor=drafter)
    lint = version.checks.get()
    assert (version.status, lint.kind, lint.status, lint.attempts, len(callbacks)) == ("queued", "lint", "queued", 0, 1)
    assert not pipeline_events().filter(action="check.lint").exists()
    callbacks[0]()
    lint.refresh_from_db()
    assert lint.status == "passed"
    assert last_event("check.lint").data["check"] == lint.pk


def test_push_runs_lint_then_simulation_to_review(in_review):
    """Once committed, lint and simulation run and the version waits for review."""
    assert sorted(in_review.checks.values_list("kind", "status")) == [("lint", "passed"), ("simulation", "passed")]
    assert [e.action for e in events() if e.action != "dataset.generate"] == [
        "rule.push",
        "check.lint",
        "check.simulation",
    ]


def test_nul_character_in_the_title_is_refused_or_kept(drafter, django_capture_on_commit_callbacks):
    """A title containing U+0000 is either refused as bad input or stored as is; never a database error."""
    raw = b'{"rule": "nul-title", "title": "a\\u0000b", "max_payment": 1, "cost": 1}'
    try:
        with django_capture_on_commit_callbacks(execute=False):
            version = push_rule_version(raw, actor=drafter)
    except InvalidDocument:
        assert not Rule.objects.exists()
        assert last_event("rule.push").outcome == "refused"
        return
    assert Rule.objects.get(pk=version.rule_id).title == "a\x00b"
    assert '"a\\u0000b"' in version.document


def test_a_rule_named_after_a_portal_page_is_refused(drafter):
    """A rule named "upload" could never be reached (/rules/upload/ is the upload page): refused, nothing stored."""
    with pytest.raises(InvalidDocument, match="the portal's own page /rules/upload/ takes that address"):
        push_rule_version(document(rule="upload"), actor=drafter)
    assert not Rule.objects.exists()
    assert pipeline_events().get(action="rule.push").outcome == "refused"


def test_every_fixed_word_under_rules_is_reserved():
    """Each fixed address directly under /rules/ in the portal and the API is a reserved rule identifier."""
    from django.urls import URLResolver, get_resolver

    def routes(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from routes(pattern, route)
            else:
                yield route

    fixed = set()
    for route in routes(get_resolver()):
        for root in ("rules/", "api/v1/rules/"):
            rest = route.removeprefix(root)
            if route.startswith(root) and rest.count("/") == 1 and rest.endswith("/") and "<" not in rest:
                fixed.add(rest.rstrip("/"))
    assert "upload" in fixed
    assert fixed <= RESERVED_RULE_IDS, fixed
