"""The shared pipeline states (tests/conftest.py SharedStates): built once per module, yet each test sees only its own changes.

The tests here change the shared version on purpose; whatever order they run in, each finds it as
its level left it.
"""

import pytest

from deployments.models import Release
from reviews.services import reject_version
from rules.models import Rule, RuleVersion, VersionStatus
from tests.conftest import pipeline_events


def _reject(version, counsel):
    reject_version(version, actor=counsel, expected_hash=version.content_hash, comment="not like this")


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_a_rejection_by_one_test_is_gone_for_the_next(in_review, counsel, attempt):
    assert in_review.status == VersionStatus.IN_REVIEW
    assert not pipeline_events().filter(action="review.reject").exists()
    _reject(in_review, counsel)
    in_review.refresh_from_db()
    assert in_review.status == VersionStatus.REJECTED


def test_a_test_without_a_state_sees_an_empty_pipeline(db):
    assert not Rule.objects.exists() and not RuleVersion.objects.exists() and not pipeline_events().exists()


def test_the_states_are_one_version_at_its_deepest_level(in_review, on_staging, in_production):
    assert in_review is on_staging is in_production
    assert in_production.status == VersionStatus.APPROVED
    live = {r.environment.name: r.version_id for r in Release.objects.select_related("environment")}
    assert live == {"staging": in_production.pk, "production": in_production.pk}
    assert RuleVersion.objects.count() == 1


@pytest.mark.parametrize("attempt", [1, 2])
def test_a_promotion_by_one_test_is_gone_for_the_next(on_staging, release_manager, attempt):
    from deployments.services import promote

    assert not Release.objects.filter(environment__name="production", version__isnull=False).exists()
    promote(on_staging.rule, actor=release_manager)
    assert Release.objects.get(environment__name="production").version_id == on_staging.pk


def test_a_state_asked_for_at_run_time_is_built_for_that_test(request, in_review):
    staged = request.getfixturevalue("on_staging")
    assert staged is in_review and staged.status == VersionStatus.APPROVED
    assert Release.objects.get(environment__name="staging").version_id == staged.pk
