"""Two drafters pushing the first versions of the same new rule at once, on PostgreSQL."""

import pytest

from audit.services import verify_chain
from deployments.apps import ensure_environments
from engine.errors import DomainError
from rules.models import Rule, RuleVersion
from rules.services import push_rule_version
from tests.conftest import document, require_postgres
from tests.deployments.support import POSTGRES_ONLY, events, run_concurrently, split_outcomes


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_first_pushes_of_one_slug_race_to_v1_and_v2(drafter, other_drafter):
    """Both pushes are stored, numbered 1 and 2, under one rule with one pair of pointers; no IntegrityError escapes."""
    require_postgres()
    ensure_environments()
    calls = [
        lambda: push_rule_version(document(title="Draft by the first"), actor=drafter),
        lambda: push_rule_version(document(title="Draft by the second"), actor=other_drafter),
    ]
    successes, refusals = split_outcomes(run_concurrently(calls), expected_errors=DomainError)
    assert refusals == []
    assert sorted(v.number for v in successes) == [1, 2]
    rule = Rule.objects.get()
    assert rule.releases.count() == 2
    numbers = dict(RuleVersion.objects.values_list("number", "uploaded_by__username"))
    assert sorted(numbers.values()) == ["drafter", "drafter2"]
    pushes = events("rule.push")
    assert [e.data["new_rule"] for e in pushes] == [True, False]
    assert [e.data["number"] for e in pushes] == [1, 2]
    assert verify_chain()[1] == []


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_many_first_pushes_of_one_slug(drafter, other_drafter):
    """Six concurrent pushes of distinct content to a new slug become v1..v6."""
    require_postgres()
    ensure_environments()
    calls = [
        (lambda n=n: push_rule_version(document(title=f"Draft {n}"), actor=drafter if n % 2 else other_drafter))
        for n in range(6)
    ]
    successes, refusals = split_outcomes(run_concurrently(calls), expected_errors=DomainError)
    assert refusals == []
    assert sorted(v.number for v in successes) == [1, 2, 3, 4, 5, 6]
    assert Rule.objects.count() == 1
    assert verify_chain()[1] == []
