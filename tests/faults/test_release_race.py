"""Twenty promotions and rollbacks of one rule at once: the history is consistent and the audit chain verifies.

tests/deployments/test_concurrent_release.py races ten; this races twenty real threads, each with
its own PostgreSQL connection and transaction, released together by a barrier, with v1 live in
production and v2 on staging, so that both moves are possible and every interleaving is.
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

from .support import tally

pytestmark = [pytest.mark.postgres, POSTGRES_ONLY, pytest.mark.django_db(transaction=True)]

THREADS = 20
MOVES = ("release.promote", "release.redeploy", "release.rollback")


def production_history(rule):
    return list(Deployment.objects.filter(rule=rule, environment__name="production").order_by("id"))


def release_events(outcome):
    return list(pipeline_events().filter(action__in=MOVES, outcome=outcome).order_by("id"))


def test_twenty_concurrent_promotions_and_rollbacks_keep_one_history(
    push, drafter, counsel, budget_officer, release_manager, capsys
):
    """10 promotions and 10 rollbacks at once: each applied once or refused once, in one unbroken history."""
    require_postgres()
    ensure_environments()
    v1 = push(actor=drafter)
    release_to_production(v1, counsel=counsel, budget_officer=budget_officer, release_manager=release_manager)
    v2 = push(document(title="Wildfire Relief Payment 2024 (amended)"), actor=drafter)
    approve_both(v2, counsel=counsel, budget_officer=budget_officer)
    rule = v1.rule
    moves_before = production_history(rule)
    done_before, refused_before = len(release_events("done")), len(release_events("refused"))

    calls = [
        (lambda: promote(rule, actor=release_manager))
        if index % 2 == 0
        else (lambda: rollback(rule, actor=release_manager, reason="race"))
        for index in range(THREADS)
    ]
    successes, refusals = split_outcomes(run_concurrently(calls), expected_errors=DomainError)

    moves = production_history(rule)[len(moves_before) :]
    done = release_events("done")[done_before:]
    refused = release_events("refused")[refused_before:]
    # Lost: an applied move with no row or no event, a refusal not recorded. Duplicated: a row or an
    # event more than the requests that made them.
    applied = {d.pk for d in successes}
    rows = {d.pk for d in moves}
    recorded = [e.data["deployment"] for e in done]
    lost = len(applied - rows) + len(applied - set(recorded)) + max(0, len(refusals) - len(refused))
    duplicated = (len(rows - applied) + (len(recorded) - len(set(recorded))) + len(set(recorded) - applied)) + max(
        0, len(refused) - len(refusals)
    )
    line = tally(
        "20 concurrent promotions and rollbacks",
        capsys,
        survived=len(successes) + len(refusals),
        total=THREADS,
        lost=lost,
        duplicated=duplicated,
    )
    assert line == f"faults survived {THREADS}/{THREADS}, lost 0, duplicated 0"

    history = production_history(rule)
    for before, after in zip(history, history[1:], strict=False):
        assert after.from_version_id == before.to_version_id, (before, after)
    assert history[-1].to_version_id == Release.objects.get(rule=rule, environment__name="production").version_id
    assert successes, "at least the first move applies"
    count, problems = verify_chain()
    assert problems == []
    assert count == AuditEvent.objects.count()
