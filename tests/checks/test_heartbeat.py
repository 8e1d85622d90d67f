"""A running job beats its check's heartbeat from a thread of its own, even through a stage with no progress."""

import time

import pytest
from django.utils import timezone

from checks.models import CheckRun
from checks.services import _beating
from rules.services import push_rule_version
from tests.conftest import document


def running_lint(drafter):
    """A pushed version's lint check, set back to running as a worker would hold it: (check, its start)."""
    version = push_rule_version(document(), actor=drafter)
    started = timezone.now()
    checks = CheckRun.objects.filter(version=version, kind="lint")
    checks.update(status="running", started_at=started, heartbeat_at=started)
    return checks.get(), started


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_moves_while_the_job_works_and_stops_after(drafter, settings):
    """With a beat every 0.1 s, a 0.6 s stage moves the heartbeat several times; after the job, it stays put."""
    settings.PDP_HEARTBEAT_SECONDS = 0.1
    check, started = running_lint(drafter)
    seen = set()
    with _beating(check):
        for _ in range(12):
            time.sleep(0.05)
            seen.add(CheckRun.objects.get(pk=check.pk).heartbeat_at)
    assert len(seen - {started}) >= 3, seen
    after = CheckRun.objects.get(pk=check.pk).heartbeat_at
    time.sleep(0.3)
    assert CheckRun.objects.get(pk=check.pk).heartbeat_at == after


@pytest.mark.django_db(transaction=True)
def test_a_finished_or_taken_over_check_is_not_beaten(drafter, settings):
    """Once the check is no longer this attempt's (finished, or started again by another), the beat writes nothing."""
    settings.PDP_HEARTBEAT_SECONDS = 0.05
    check, started = running_lint(drafter)
    CheckRun.objects.filter(pk=check.pk).update(started_at=timezone.now())  # another attempt took it over
    with _beating(check):
        time.sleep(0.3)
    assert CheckRun.objects.get(pk=check.pk).heartbeat_at == started
