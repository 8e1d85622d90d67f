"""Replay and rollback impact (decisions.services) on a controlled set of recorded decisions."""

import csv
import io
from datetime import timedelta

import pytest

from decisions.models import DecisionBatch
from decisions.services import (
    CSV_HEADER,
    export_rollback_impact,
    replay,
    rollback_impact,
    rollback_impact_csv,
    rollback_target,
)
from deployments.models import Deployment
from engine.errors import InvalidInput
from pdp_portal.exceptions import NotPermitted, ReleaseRefused
from tests.conftest import last_event
from tests.deployments.support import release_to_production

from .replay_support import ask_all, record_batch, stricter_and_richer, stricter_and_richer_from


@pytest.fixture
def candidate(in_production, push, drafter):
    """v1 live in production, v2 (from 21, paying 6,000) pushed and in review."""
    v2 = push(stricter_and_richer(), actor=drafter)
    assert v2.status == "in_review", list(v2.checks.values_list("findings", flat=True))
    return v2


@pytest.fixture
def v2_live(candidate, counsel, budget_officer, release_manager):
    release_to_production(candidate, counsel=counsel, budget_officer=budget_officer, release_manager=release_manager)
    return candidate


def _rows(chunks):
    return list(csv.reader(io.StringIO("".join(chunks))))


def test_replay_counts_what_the_candidate_changes(candidate, payments):
    """Ten decisions under v1 replayed by v2: the 40-year-olds' amounts change, the 20-year-olds lose it, minors stay out."""
    ids = ask_all(payments)
    impact = replay(candidate)
    assert impact.compared == 10
    assert (impact.changed, impact.newly_eligible, impact.no_longer_eligible, impact.amount_changes) == (8, 0, 2, 6)
    assert (impact.eligible_before, impact.eligible_after) == (8, 6)
    assert (impact.cost_before, impact.cost_after, impact.cost_delta) == (40_000.0, 36_000.0, -4_000.0)
    assert impact.errors == impact.without_inputs == 0
    assert len(impact.examples) == 8
    kinds = {e.request_id: e.kind for e in impact.examples}
    assert kinds[ids[3]] == "no longer eligible" and kinds[ids[0]] == "amount changes"
    assert ids[4] not in kinds  # a minor: not eligible either way
    example = next(e for e in impact.examples if e.request_id == ids[0])
    assert (example.amount_before, example.eligible_after, example.amount_after) == (5000.0, True, 6000.0)
    assert example.account == "acct-0" and '"age":40' in example.inputs.replace(" ", "")


def test_a_candidate_not_in_force_on_the_day_asked_pays_no_one(in_production, push, drafter, payments):
    """v2 applies from 2025-06-01; the decisions were asked for 2025-01-15: under v2 no one would be paid."""
    from .replay_support import AGES

    later = push(stricter_and_richer_from("2025-06-01"), actor=drafter)
    ask_all(payments)
    impact = replay(later)
    eligible = sum(1 for age in AGES if age >= 18)
    assert impact.compared == len(AGES)
    assert (impact.not_in_force, impact.no_longer_eligible, impact.eligible_after) == (len(AGES), eligible, 0)
    assert impact.cost_after == 0.0


def test_replay_reads_the_latest_decisions_only(candidate, payments, settings):
    """PDP_REPLAY_DECISIONS bounds the replay to the newest decisions."""
    ids = ask_all(payments)
    settings.PDP_REPLAY_DECISIONS = 3
    impact = replay(candidate)
    assert impact.compared == 3
    # The last three asked: ages 40, 12, 40 → two amount changes.
    assert {e.request_id for e in impact.examples} == {ids[7], ids[9]}
    assert replay(candidate, limit=5).compared == 5


def test_replay_with_nothing_recorded(candidate):
    """A rule with no production decisions replays nothing."""
    impact = replay(candidate)
    assert (impact.compared, impact.changed, impact.without_inputs, impact.examples) == (0, 0, 0, [])


def test_replay_counts_decisions_whose_inputs_retention_removed(candidate, payments):
    """Decisions without their inputs are counted apart, not decided again."""
    ask_all(payments)
    oldest = DecisionBatch.objects.order_by("id").values_list("id", flat=True)[:4]
    DecisionBatch.objects.filter(id__in=list(oldest)).update(inputs=None)
    impact = replay(candidate)
    assert (impact.compared, impact.without_inputs) == (6, 4)
    assert impact.changed == 4  # of ages 12, 40, 20, 40, 12, 40 (the last six): three 40s and one 20


def test_replay_reads_production_only(candidate, payments):
    """Staging's decisions (test accounts) are not production's."""
    v1 = candidate.rule.versions.get(number=1)
    record_batch(v1, "staging", [("t-1", 40, True, 5000)], start=candidate.created_at)
    assert replay(candidate).compared == 0


def test_rollback_to_v0_differs_for_every_eligible_decision(in_production, payments):
    """Withdrawing the rule would turn down every decision that paid; the ineligible ones stay as they were."""
    ask_all(payments)
    found = rollback_impact(in_production.rule, "production", None)
    assert found.current == in_production and found.target is None
    assert found.made == 10 and found.compared_all
    assert (found.impact.changed, found.impact.no_longer_eligible, found.impact.newly_eligible) == (8, 8, 0)
    assert found.impact.cost_delta == -40_000.0
    went_live = Deployment.objects.filter(environment__name="production").latest("id").created_at
    assert found.live_since == went_live


def test_rollback_to_v0_needs_no_inputs(in_production, payments):
    """Rolling back to nothing can be told for decisions whose inputs are gone: no rule pays no one."""
    ask_all(payments)
    DecisionBatch.objects.update(inputs=None)
    found = rollback_impact(in_production.rule, "production", None)
    assert (found.impact.changed, found.impact.without_inputs) == (8, 0)


def test_rollback_impact_counts_only_decisions_since_go_live(v2_live, payments):
    """Decisions made under v1 before v2 went live do not count; v2's own are compared with v1."""
    ask_all(payments, [40, 20, 12, 40, 20], prefix="before")  # these were decided by v1
    release_time = v2_live.rule.deployments.filter(environment__name="production").latest("id").created_at
    DecisionBatch.objects.filter(version=v2_live).delete()
    assert not DecisionBatch.objects.filter(version=v2_live).exists()
    ask_all(payments, [40, 20, 12, 40], prefix="after")
    v1 = v2_live.rule.versions.get(number=1)
    found = rollback_impact(v2_live.rule, "production", v1)
    assert found.current == v2_live and found.live_since == release_time
    assert found.made == 4
    impact = found.impact
    assert (impact.changed, impact.newly_eligible, impact.no_longer_eligible, impact.amount_changes) == (3, 1, 0, 2)
    assert impact.cost_delta == 5000 - 2 * 1000
    assert {e.account for e in impact.examples} == {"after-0", "after-1", "after-3"}


def test_made_reads_a_batch_that_straddles_go_live_row_by_row(v2_live):
    """A batch written across the go-live moment counts only its decisions at or after it."""
    since = v2_live.rule.deployments.filter(environment__name="production").latest("id").created_at
    rows = [("a", 40, True, 6000), ("b", 40, True, 6000), ("c", 20, False, 0), ("d", 40, True, 6000)]
    record_batch(v2_live, "production", rows, start=since - timedelta(seconds=1, microseconds=500_000))
    record_batch(v2_live, "production", rows[:2], start=since + timedelta(minutes=1))
    record_batch(v2_live, "production", rows[:1], start=since - timedelta(hours=1))  # wholly before
    v1 = v2_live.rule.versions.get(number=1)
    found = rollback_impact(v2_live.rule, "production", v1)
    assert found.made == 2 + 2
    # "b", "c" (newly eligible), "d" of the straddling batch and both of the later one.
    assert found.impact.compared == 4
    assert (found.impact.newly_eligible, found.impact.amount_changes) == (1, 3)


def test_nothing_live_means_nothing_made(rolled_back):
    """An environment that serves v0 has made no decisions under any version."""
    found = rollback_impact(rolled_back.rule, "production", rolled_back)
    assert (found.current, found.made, found.impact.changed) == (None, 0, 0)
    assert _rows(rollback_impact_csv(rolled_back.rule, "production", rolled_back)) == [CSV_HEADER]


def test_csv_holds_every_affected_decision_with_its_before_and_after(v2_live, payments):
    """The CSV: the header, then one row per decision the target answers differently, oldest first."""
    DecisionBatch.objects.all().delete()
    ids = ask_all(payments, [40, 12, 20], prefix="after")
    v1 = v2_live.rule.versions.get(number=1)
    rows = _rows(rollback_impact_csv(v2_live.rule, "production", v1))
    assert rows[0] == CSV_HEADER
    body = [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]]
    assert [(r["request_id"], r["account"], r["change"]) for r in body] == [
        (ids[0], "after-0", "amount changes"),
        (ids[2], "after-2", "newly eligible"),
    ]
    first = body[0]
    assert (first["eligible_before"], first["amount_before"], first["eligible_after"], first["amount_after"]) == (
        "True",
        "6000.0",
        "True",
        "5000.0",
    )
    assert first["error_after"] == "" and '"age":40' in first["inputs"].replace(" ", "")


@pytest.mark.parametrize("account", ['=HYPERLINK("http://x")', "+1234", "-2+3", "@SUM(A1)", "\tx"])
def test_csv_escapes_account_ids_that_look_like_formulas(in_production, account):
    """An account id a spreadsheet would run as a formula is written as text."""
    since = in_production.rule.deployments.filter(environment__name="production").latest("id").created_at
    record_batch(in_production, "production", [(account, 40, True, 5000)], start=since + timedelta(seconds=1))
    (_, row) = _rows(rollback_impact_csv(in_production.rule, "production", None))
    assert row[CSV_HEADER.index("account")] == "'" + account


def test_rollback_target_resolves_as_the_rollback_does(v2_live):
    """'previous' is where the promotion came from; 'v0' is nothing; a version must have been live there."""
    rule = v2_live.rule
    v1 = rule.versions.get(number=1)
    assert rollback_target(rule, "production", "previous") == v1
    assert rollback_target(rule, "production", "v1") == v1
    assert rollback_target(rule, "production", "v0") is None
    with pytest.raises(InvalidInput):
        rollback_target(rule, "production", "v9")
    with pytest.raises(InvalidInput):
        rollback_target(rule, "production", "yesterday")
    with pytest.raises(InvalidInput):
        rollback_target(rule, "moon", "v1")


def test_rollback_target_refuses_a_version_never_live_there(candidate):
    """v2 is in review: no rollback can go to it."""
    with pytest.raises(ReleaseRefused):
        rollback_target(candidate.rule, "production", "v2")


def test_export_is_audited(in_production, payments, release_manager):
    """Downloading the affected accounts records decision_log.export with where and to what."""
    ask_all(payments, [40])
    chunks = export_rollback_impact(in_production.rule, actor=release_manager, environment="production", target=None)
    event = last_event("decision_log.export")
    assert event.actor == release_manager and event.outcome == "done"
    assert event.data == {"environment": "production", "to": "v0"}
    assert event.rule_slug == in_production.rule.slug
    assert len(_rows(chunks)) == 2


def test_export_is_refused_to_who_may_not_roll_back(in_production, drafter):
    """A drafter may not export account ids: refused, and the refusal recorded."""
    with pytest.raises(NotPermitted):
        export_rollback_impact(in_production.rule, actor=drafter, environment="production", target=None)
    event = last_event("decision_log.export")
    assert event.actor == drafter and event.outcome == "refused"
