"""audit/services.py refusals_recorded: a refused action writes exactly one event, with the reason."""

import pytest

from audit.models import AuditEvent
from engine.errors import InvalidInput
from pdp_portal.exceptions import NotPermitted, StaleApproval
from reviews.services import approve_version
from rules.models import Rule
from rules.services import push_rule_version
from tests.conftest import document


def only_new_event(before_id):
    (event,) = AuditEvent.objects.filter(id__gt=before_id)
    return event


def last_id():
    return AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_refused_push_writes_one_refused_event(db, outsider):
    """A refused push leaves exactly one event: refused, the actor, the reason and code, and nothing else."""
    before = last_id()
    with pytest.raises(NotPermitted) as info:
        push_rule_version(document(), actor=outsider)
    event = only_new_event(before)
    assert (event.action, event.outcome, event.actor, event.actor_name) == (
        "rule.push",
        "refused",
        outsider,
        "outsider",
    )
    assert event.data["reason"] == info.value.message
    assert event.data["code"] == "forbidden"
    assert not Rule.objects.exists()


def test_refused_approval_names_its_target(in_review, counsel):
    """A refused approval is recorded against the version, with what was asked."""
    before = last_id()
    with pytest.raises(StaleApproval) as info:
        approve_version(in_review, actor=counsel, expected_hash="a" * 64, role="legal")
    event = only_new_event(before)
    assert (event.action, event.outcome, event.target_type, event.target_id, event.rule_slug) == (
        "review.approve", "refused", "rules.ruleversion", str(in_review.pk), in_review.rule.slug,
    )  # fmt: skip
    assert event.data == {
        "role": "legal", "expected_hash": "a" * 64, "reason": info.value.message, "code": "stale_hash",
    }  # fmt: skip


def test_refused_rollback_writes_one_event(in_review, release_manager):
    """A rollback without a reason: one refused event, and no release moves."""
    from deployments.services import rollback

    before = last_id()
    with pytest.raises(InvalidInput):
        rollback(in_review.rule, actor=release_manager, reason="")
    event = only_new_event(before)
    assert (event.action, event.outcome, event.data["reason"]) == (
        "release.rollback",
        "refused",
        "A rollback needs a reason.",
    )
    assert event.target_type == "rules.rule"


def test_successful_action_writes_exactly_one_event(db, drafter, django_capture_on_commit_callbacks):
    """A push (without its checks) writes one done event."""
    before = last_id()
    with django_capture_on_commit_callbacks(execute=False):
        push_rule_version(document(), actor=drafter)
    event = only_new_event(before)
    assert (event.action, event.outcome) == ("rule.push", "done")
