"""Two people with the same role approving at once, on PostgreSQL with real threads and transactions."""

import pytest

from audit.services import verify_chain
from deployments.apps import ensure_environments
from engine.errors import DomainError
from reviews.models import Review
from reviews.services import approve_version
from tests.conftest import require_postgres
from tests.deployments.support import POSTGRES_ONLY, events, run_concurrently, split_outcomes


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_same_role_approvals_race_to_one(push, drafter, counsel, second_counsel):
    """Two lawyers approving the same version at once: exactly one legal approval is stored."""
    require_postgres()
    ensure_environments()
    version = push(actor=drafter)
    assert version.status == "in_review"
    calls = [
        lambda: approve_version(version, actor=counsel, expected_hash=version.content_hash),
        lambda: approve_version(version, actor=second_counsel, expected_hash=version.content_hash),
    ]
    successes, refusals = split_outcomes(run_concurrently(calls), expected_errors=DomainError)
    assert (len(successes), len(refusals)) == (1, 1)
    assert [r.code for r in refusals] == ["invalid_state"]
    assert list(Review.objects.values_list("role", "reviewer_id")) == [("legal", successes[0].reviewer_id)]
    version.refresh_from_db()
    assert version.status == "in_review"
    assert [e.outcome for e in events("review.approve")] in (["done", "refused"], ["refused", "done"])
    assert verify_chain()[1] == []


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_concurrent_approvals_race_across_many_reviewers(push, drafter, counsel, second_counsel, legal_and_budget):
    """Several reviewers racing on both roles leave at most one approval per role, from different people."""
    require_postgres()
    ensure_environments()
    version = push(actor=drafter)
    calls = [
        lambda: approve_version(version, actor=counsel, expected_hash=version.content_hash),
        lambda: approve_version(version, actor=second_counsel, expected_hash=version.content_hash),
        lambda: approve_version(version, actor=legal_and_budget, expected_hash=version.content_hash, role="legal"),
    ] * 2
    successes, refusals = split_outcomes(run_concurrently(calls), expected_errors=DomainError)
    assert (len(successes), len(refusals)) == (1, 5)
    assert Review.objects.filter(role="legal").count() == 1
    assert verify_chain()[1] == []
