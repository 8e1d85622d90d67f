"""audit/services.py: every event links to the one before, and verify_chain finds any break."""

import json

import pgtrigger
from django.db import connection

from audit.models import GENESIS_HASH, PAYLOAD_FIELDS, AuditEvent, hash_of_row
from audit.services import VERIFY_BATCH, record_event, verify_chain
from deployments.services import rollback


def test_empty_history_verifies(db):
    """No events: nothing to check, nothing broken."""
    assert verify_chain() == (0, [])


def test_events_link_to_the_one_before(db, drafter):
    """The first event links to the genesis hash, each later one to the hash of its predecessor."""
    made = list(AuditEvent.objects.order_by("id"))  # the drafter being made: the chain's first events
    assert made[0].prev_hash == GENESIS_HASH
    first = record_event("test.one", actor=drafter, data={"n": 1})
    second = record_event("test.two", actor=None, data={"n": 2})
    assert first.prev_hash == made[-1].hash
    assert second.prev_hash == first.hash
    assert first.hash == first.compute_hash() and len(first.hash) == 64
    assert (second.actor, second.actor_name) == (None, "")
    assert verify_chain() == (len(made) + 2, [])


def test_real_history_verifies(in_production, release_manager):
    """Push, checks, sign-offs, promotions and a rollback make a chain that verifies end to end."""
    rollback(in_production.rule, actor=release_manager, reason="Congress requested pause")
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    for action in (
        "rule.push",
        "check.lint",
        "check.simulation",
        "review.approve",
        "release.promote",
        "release.rollback",
    ):
        assert action in actions
    count, problems = verify_chain()
    assert problems == []
    assert count == len(actions)


def test_history_with_refusals_verifies(in_review, outsider):
    """Refused actions are links of the same chain."""
    from pdp_portal.exceptions import ReviewRefused
    from reviews.services import approve_version

    try:
        approve_version(in_review, actor=outsider, expected_hash=in_review.content_hash)
    except ReviewRefused:
        pass
    assert AuditEvent.objects.filter(outcome="refused").count() == 1
    assert verify_chain()[1] == []


def test_large_float_in_event_data_verifies(db, drafter):
    """An event whose data holds a float of 1e16 verifies after it is stored and read back."""
    record_event("test.data", actor=drafter, data={"cost": 1e16, "small": 0.5})
    assert verify_chain()[1] == []


def test_large_declared_cost_keeps_the_chain_verifiable(push, drafter):
    """An event whose data holds a large float (a declared cost of 1e15, the largest figure a rule may hold) still
    verifies after a round trip."""
    push(json.dumps({"rule": "huge", "max_payment": 5000, "cost": 1e15}).encode(), actor=drafter)
    assert AuditEvent.objects.filter(action="check.simulation", data__cost=1e15).exists()
    assert verify_chain()[1] == []


def test_unicode_and_nested_data_verify(db, drafter):
    """Data with non-ASCII text, nesting, and reordered keys hashes the same after storage."""
    record_event("test.data", actor=drafter, data={"z": "été 🔥", "a": {"y": [1, 2.5, None, True], "b": "x"}})
    assert verify_chain()[1] == []


def test_progress_is_reported_after_every_batch(db):
    """A long chain reports how far it got after each batch of events, ending at the count."""
    assert VERIFY_BATCH == 5000
    for n in range(11):
        record_event("test.many", actor=None, data={"n": n})
    reports = []
    assert verify_chain(progress=reports.append, batch_size=4) == (11, [])
    assert reports == [4, 8, 11]
    reports.clear()
    assert verify_chain(progress=reports.append, batch_size=11) == (11, [])
    assert reports == [11]


def test_a_break_across_a_batch_boundary_is_found(db):
    """The link between the last event of one batch and the first of the next is checked too."""
    events = [record_event("test.n", actor=None, data={"n": n}) for n in range(4)]
    with pgtrigger.ignore("audit.AuditEvent:audit_append_only"), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET prev_hash = %s WHERE id = %s", ["f" * 64, events[2].pk])
    count, problems = verify_chain(batch_size=2)
    assert count == 4
    assert f"event #{events[2].pk}: prev_hash does not match the hash of the event before it" in problems


def test_verification_stops_at_the_given_event(db):
    """`through` walks the chain up to that event and no further."""
    events = [record_event("test.n", actor=None, data={"n": n}) for n in range(5)]
    assert verify_chain(through=events[2].pk) == (3, [])


def test_plain_row_hash_matches_the_model_hash(in_production):
    """The fast row path of verify_chain hashes each stored event exactly as the model does."""
    fields = AuditEvent.objects.order_by("id").values_list(*PAYLOAD_FIELDS)
    events = AuditEvent.objects.order_by("id")
    assert [hash_of_row(row) for row in fields] == [event.compute_hash() for event in events] != []
