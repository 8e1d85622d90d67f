"""Workers racing on one due scheduled promotion, on PostgreSQL with real threads and transactions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.services import verify_chain
from deployments.apps import ensure_environments
from deployments.models import Deployment, ScheduledPromotion
from deployments.services import rollback, run_due_promotions, schedule_promotion
from engine.errors import DomainError
from tests.conftest import pipeline_events, require_postgres
from tests.deployments.support import POSTGRES_ONLY, approve_both, run_concurrently, split_outcomes

WORKERS = 8


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_racing_workers_carry_out_a_due_promotion_once(push, drafter, counsel, budget_officer, release_manager):
    """Eight workers run the due promotions at once: one promotion, one Deployment, one event, schedule done."""
    require_postgres()
    ensure_environments()
    version = push(actor=drafter)
    approve_both(version, counsel=counsel, budget_officer=budget_officer)
    schedule = schedule_promotion(version.rule, actor=release_manager, at=timezone.now() + timedelta(seconds=30))
    later = timezone.now() + timedelta(minutes=1)
    successes, _ = split_outcomes(
        run_concurrently([lambda: run_due_promotions(now=later)] * WORKERS), expected_errors=DomainError
    )
    assert len(successes) == WORKERS
    assert sorted(len(handled) for handled in successes) == [0] * (WORKERS - 1) + [1]
    schedule.refresh_from_db()
    assert schedule.state == ScheduledPromotion.State.DONE
    assert Deployment.objects.filter(environment__name="production").count() == 1
    assert (
        pipeline_events().filter(action="release.promote", outcome="done", actor=None).count() == 2
    )  # staging, production
    assert pipeline_events().filter(action="release.promote", data__schedule=schedule.pk).count() == 1
    assert verify_chain()[1] == []


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_rollback_racing_the_worker_leaves_one_outcome(push, drafter, counsel, budget_officer, release_manager):
    """Staging rolled back while the worker carries out the production promotion: whichever locks staging
    first decides, and the schedule ends done (production serves v1) or failed (it serves nothing)."""
    require_postgres()
    ensure_environments()
    version = push(actor=drafter)
    approve_both(version, counsel=counsel, budget_officer=budget_officer)
    rule = version.rule
    schedule = schedule_promotion(rule, actor=release_manager, at=timezone.now() + timedelta(seconds=30))
    later = timezone.now() + timedelta(minutes=1)
    calls = [
        lambda: run_due_promotions(now=later),
        lambda: rollback(rule, actor=release_manager, reason="pause", environment="staging"),
    ]
    split_outcomes(run_concurrently(calls), expected_errors=DomainError)
    schedule.refresh_from_db()
    production = Deployment.objects.filter(rule=rule, environment__name="production")
    if schedule.state == ScheduledPromotion.State.DONE:
        assert [d.to_version_id for d in production] == [version.pk]
    else:
        assert schedule.state == ScheduledPromotion.State.FAILED
        assert "which takes a new version only from staging (serving nothing)" in schedule.outcome
        assert not production.exists()
    assert verify_chain()[1] == []
