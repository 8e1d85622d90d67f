"""Rule.objects.with_release_sync() and release_sync(): in sync, staging ahead, production behind, staging behind."""

import pytest

from deployments.models import Sync, release_sync
from deployments.services import promote, rollback
from rules.models import Rule
from tests.conftest import document
from tests.deployments.support import approve_both


def sync_of(rule):
    return Rule.objects.with_release_sync().get(pk=rule.pk).release_sync()


@pytest.mark.parametrize(
    ("staging", "production", "was_live", "expected"),
    [
        (0, 0, False, None),
        (1, 1, True, Sync("in-sync", "In sync: staging and production both serve v1.")),
        (2, 1, False, Sync("staging-ahead", "Staging is ahead of production: v2 waits there; production serves v1.")),
        (
            1,
            0,
            True,
            Sync(
                "production-behind",
                "Production serves an older version than staging: v0 (nothing), where staging serves v1, "
                "which production served before.",
            ),
        ),
        (
            1,
            2,
            True,
            Sync("staging-behind", "Staging serves an older version than production: v1, where production serves v2."),
        ),
    ],
)
def test_release_sync_in_words(staging, production, was_live, expected):
    """Each way staging and production can stand, in one line."""
    assert release_sync(staging, production, staging_was_in_production=was_live) == expected


def test_a_version_on_staging_only_is_staging_ahead(on_staging):
    """v1 approved and on staging, production at v0: staging is ahead."""
    assert sync_of(on_staging.rule).key == "staging-ahead"


def test_after_a_production_rollback_production_is_behind(rolled_back):
    """Production rolled back from v1, which staging still serves: production is behind."""
    rule = Rule.objects.with_release_sync().get(pk=rolled_back.rule.pk)
    assert (rule.staging_number, rule.production_number, rule.staging_was_in_production) == (1, 0, True)
    assert rule.release_sync().key == "production-behind"
    assert rule.rolled_back_from_id == rolled_back.pk


def test_a_newer_version_on_staging_is_ahead_and_a_staging_rollback_is_behind(
    in_production, push, drafter, counsel, budget_officer, release_manager
):
    """v2 on staging over v1 in production: ahead; v2 in both then staging back to v1: staging behind."""
    v2 = push(document(title="Amended"), actor=drafter)
    approve_both(v2, counsel=counsel, budget_officer=budget_officer)
    assert sync_of(v2.rule).key == "staging-ahead"
    promote(v2.rule, actor=release_manager)
    assert sync_of(v2.rule).key == "in-sync"
    rollback(v2.rule, actor=release_manager, reason="try v1", environment="staging", to="v1")
    rule = Rule.objects.with_release_sync().get(pk=v2.rule.pk)
    assert rule.release_sync().key == "staging-behind"
    assert rule.rolled_back_from_id is None  # production's last move was a promotion
