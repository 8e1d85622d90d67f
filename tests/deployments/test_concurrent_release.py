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
from tests.conftest import document, require_postgres
from tests.deployments.support import (
    POSTGRES_ONLY,
    approve_both,
    release_to_production,
    run_concurrently,
    split_outcomes,
)

THREADS = 10


def assert_consistent_history(rule, successes):
    moves = list(Deployment.objects.filter(rule=rule, environment__name="production").order_by("id"))
    pointer = Release.objects.get(rule=rule, environment__name="production")
    # No lost and no doubled move: exactly one row per applied request, and they are the same rows.
    assert sorted(d.pk for d in successes) == [d.pk for d in moves[len(moves) - len(successes) :]]
    for before, after in zip(moves, moves[1:], strict=False):
        assert after.from_version_id == before.to_version_id, (before, after)
    assert moves[-1].to_version_id == pointer.version_id
    done = AuditEvent.objects.filter(action__in=["release.promote", "release.rollback"], outcome="done")
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
    calls = [lambda: promote(rule, actor=release_manager)] * 5 + [
        lambda: rollback(rule, actor=release_manager, reason="race")
    ] * 5
    calls = [c for pair in zip(calls[:5], calls[5:], strict=True) for c in pair]  # alternate
    successes, refusals = split_outcomes(run_concurrently(calls), expected_errors=DomainError)
    assert len(successes) + len(refusals) == THREADS
    assert successes, "at least the first promotion must apply"
    moves = assert_consistent_history(rule, successes)
    assert len(moves) == len(successes)
    assert AuditEvent.objects.filter(outcome="refused", action__startswith="release.").count() == len(refusals)


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_promotes_and_rollbacks_race_between_two_versions(push, drafter, counsel, budget_officer, release_manager):
    """With v1 live and v2 on staging, concurrent promotions and rollbacks leave a consistent history."""
    require_postgres()
    ensure_environments()
    v1 = push(actor=drafter)
    release_to_production(v1, counsel=counsel, budget_officer=budget_officer, release_manager=release_manager)
    v2 = push(document(title="Amended"), actor=drafter)
    approve_both(v2, counsel=counsel, budget_officer=budget_officer)
    rule = v1.rule
    already = Deployment.objects.filter(rule=rule, environment__name="production").count()
    calls = []
    for index in range(THREADS):
        if index % 2 == 0:
            calls.append(lambda: promote(rule, actor=release_manager))
        else:
            calls.append(lambda: rollback(rule, actor=release_manager, reason="race"))
    successes, refusals = split_outcomes(run_concurrently(calls), expected_errors=DomainError)
    assert len(successes) + len(refusals) == THREADS
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
