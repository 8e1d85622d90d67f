"""Concurrent promotions and rollbacks of one rule, on PostgreSQL with real threads and transactions.

Each request locks the (rule, environment) pointer, so however they interleave, every applied move is
one Deployment row, each starts where the previous one ended, and the audit chain stays whole.
"""

import pytest

from audit.models import AuditEvent
from audit.services import verify_chain
from deployments.apps import ensure_environments
from deployments.models import Deployment, Release
from deployments.services import promote, rollback
from engine.errors import DomainError
from tests.conftest import document, pipeline_events, require_postgres
from tests.deployments.support import (
    POSTGRES_ONLY,
    approve_both,
    release_to_production,
    run_concurrently,
    split_outcomes,
)

THREADS = 10


def race(forward, back):
    """Run `forward` and `back` THREADS // 2 times each, alternating, all at once: (successes, refusals)."""
    calls = [forward if index % 2 == 0 else back for index in range(THREADS)]
    successes, refusals = split_outcomes(run_concurrently(calls), expected_errors=DomainError)
    assert len(successes) + len(refusals) == THREADS
    return successes, refusals


def live_in_production(push, drafter, counsel, budget_officer, release_manager):
    """On PostgreSQL, the wildfire example pushed, signed off and promoted: v1 live on staging and production."""
    require_postgres()
    ensure_environments()
    version = push(actor=drafter)
    release_to_production(version, counsel=counsel, budget_officer=budget_officer, release_manager=release_manager)
    return version


def production_moves(rule):
    return Deployment.objects.filter(rule=rule, environment__name="production").count()


def assert_consistent_history(rule, successes):
    moves = list(Deployment.objects.filter(rule=rule, environment__name="production").order_by("id"))
    pointer = Release.objects.get(rule=rule, environment__name="production")
    # No lost and no doubled move: exactly one row per applied request, and they are the same rows.
    assert sorted(d.pk for d in successes) == [d.pk for d in moves[len(moves) - len(successes) :]]
    for before, after in zip(moves, moves[1:], strict=False):
        assert after.from_version_id == before.to_version_id, (before, after)
    assert moves[-1].to_version_id == pointer.version_id
    done = pipeline_events().filter(
        action__in=["release.promote", "release.redeploy", "release.rollback"], outcome="done"
    )
    production_events = [e for e in done if e.data.get("environment") == "production"]
    assert sorted(e.data["deployment"] for e in production_events) == [d.pk for d in moves]
    count, problems = verify_chain()
    assert problems == []
    assert count == AuditEvent.objects.count()
    return moves


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_promotes_and_rollbacks_race_on_a_rule_live_on_staging(push, drafter, counsel, budget_officer, release_manager):
    """5 promotions and 5 rollbacks to previous at once: Deployments equal successes and chain consistently."""
    require_postgres()
    ensure_environments()
    version = push(actor=drafter)
    approve_both(version, counsel=counsel, budget_officer=budget_officer)
    rule = version.rule
    successes, refusals = race(
        lambda: promote(rule, actor=release_manager), lambda: rollback(rule, actor=release_manager, reason="race")
    )
    assert successes, "at least the first promotion must apply"
    moves = assert_consistent_history(rule, successes)
    assert len(moves) == len(successes)
    assert pipeline_events().filter(outcome="refused", action__startswith="release.").count() == len(refusals)


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_promotes_and_rollbacks_race_between_two_versions(push, drafter, counsel, budget_officer, release_manager):
    """With v1 live and v2 on staging, concurrent promotions and rollbacks leave a consistent history."""
    v1 = live_in_production(push, drafter, counsel, budget_officer, release_manager)
    v2 = push(document(title="Amended"), actor=drafter)
    approve_both(v2, counsel=counsel, budget_officer=budget_officer)
    rule = v1.rule
    already = production_moves(rule)
    successes, _ = race(
        lambda: promote(rule, actor=release_manager), lambda: rollback(rule, actor=release_manager, reason="race")
    )
    moves = assert_consistent_history(rule, successes)
    assert len(moves) == already + len(successes)


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_promotions_apply_once(push, drafter, counsel, budget_officer, release_manager):
    """Ten simultaneous promotions of the same version: exactly one applies, nine are refused."""
    require_postgres()
    ensure_environments()
    version = push(actor=drafter)
    approve_both(version, counsel=counsel, budget_officer=budget_officer)
    calls = [lambda: promote(version.rule, actor=release_manager)] * THREADS
    successes, refusals = split_outcomes(run_concurrently(calls), expected_errors=DomainError)
    assert (len(successes), len(refusals)) == (1, THREADS - 1)
    assert {type(r).__name__ for r in refusals} == {"InvalidTransition"}
    assert Deployment.objects.filter(environment__name="production").count() == 1
    assert_consistent_history(version.rule, successes)


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_redeploys_and_rollbacks_race(push, drafter, counsel, budget_officer, release_manager):
    """Production rolled back to v0: 5 deployments of v1 again and 5 rollbacks to v0 at once stay one consistent history."""
    version = live_in_production(push, drafter, counsel, budget_officer, release_manager)
    rule = version.rule
    rollback(rule, actor=release_manager, reason="pause")
    already = production_moves(rule)
    successes, refusals = race(
        lambda: promote(rule, actor=release_manager, number=1),
        lambda: rollback(rule, actor=release_manager, reason="race", to="v0"),
    )
    assert any(d.kind == "redeploy" for d in successes), "at least one redeploy applies (production starts at v0)"
    # Every refusal is a no-op seen under the lock: v1 already live, or v0 already what production serves.
    assert {type(r).__name__ for r in refusals} <= {"InvalidTransition"}
    moves = assert_consistent_history(rule, successes)
    assert len(moves) == already + len(successes)
    assert Release.objects.get(rule=rule, environment__name="staging").version == version
