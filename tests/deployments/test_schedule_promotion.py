"""deployments/services.py schedule_promotion, cancel_scheduled_promotion and run_due_promotions."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from deployments.models import Deployment, ScheduledPromotion
from deployments.services import (
    cancel_scheduled_promotion,
    promote,
    rollback,
    run_due_promotions,
    schedule_promotion,
)
from deployments.tasks import run_due_promotions_task
from engine.errors import InvalidInput
from pdp_portal.exceptions import InvalidTransition, NotPermitted, ReleaseRefused
from reviews.models import Review
from tests.conftest import last_event, make_user, pipeline_events
from tests.deployments.support import live_version

Scheduled = ScheduledPromotion.State


def _soon(hours=1):
    return timezone.now() + timedelta(hours=hours)


def test_schedule_records_the_promotion_and_its_event(on_staging, release_manager):
    """Scheduling fixes the staging version, changes no pointer, and writes release.schedule."""
    at = _soon()
    schedule = schedule_promotion(on_staging.rule, actor=release_manager, at=at, note="From January")
    schedule.refresh_from_db()
    assert (schedule.version, schedule.environment.name, schedule.at, schedule.state) == (
        on_staging, "production", at, Scheduled.SCHEDULED,
    )  # fmt: skip
    assert (schedule.created_by, schedule.note, schedule.from_version) == (release_manager, "From January", None)
    assert live_version(on_staging.rule, "production") is None
    event = last_event("release.schedule")
    assert (event.outcome, event.actor, event.target_type, event.target_id) == (
        "done", release_manager, "deployments.scheduledpromotion", str(schedule.pk),
    )  # fmt: skip
    assert event.data == {
        "schedule": schedule.pk, "environment": "production", "version": "v1", "from": "v0",
        "at": at.isoformat(), "note": "From January",
    }  # fmt: skip


@pytest.mark.parametrize(
    "at, message",
    [
        (lambda: timezone.now() - timedelta(minutes=1), "not in the future"),
        (lambda: timezone.now().replace(tzinfo=None) + timedelta(hours=1), "time zone"),
        (lambda: "2027-01-01", "date and time"),
        (lambda: timezone.now() + timedelta(days=366 * 6), "five years"),
    ],
)
def test_schedule_refuses_a_bad_time(on_staging, release_manager, at, message):
    """A past, naive, unparsed or far-off time is refused at the field "at", recorded, and nothing is scheduled."""
    before = pipeline_events().count()
    with pytest.raises(InvalidInput, match=message) as info:
        schedule_promotion(on_staging.rule, actor=release_manager, at=at())
    assert info.value.details == {"fields": {"at": info.value.message}}
    assert not ScheduledPromotion.objects.exists()
    assert pipeline_events().count() == before + 1
    assert last_event("release.schedule").outcome == "refused"


def test_schedule_refuses_what_promoting_now_refuses(in_review, release_manager):
    """A version not on staging cannot be scheduled for production, with the promote service's reason."""
    with pytest.raises(ReleaseRefused, match="Nothing of Wildfire-Aid-2024 is live on staging"):
        schedule_promotion(in_review.rule, actor=release_manager, at=_soon())
    with pytest.raises(InvalidInput, match="has no v7"):
        schedule_promotion(in_review.rule, actor=release_manager, at=_soon(), number=7)
    assert not ScheduledPromotion.objects.exists()


def test_schedule_takes_the_promote_permission(on_staging, counsel, drafter):
    """Only a release manager schedules; the drafter of the version cannot either."""
    with pytest.raises(NotPermitted, match="may not schedule promotions"):
        schedule_promotion(on_staging.rule, actor=counsel, at=_soon())
    drafting_rm = make_user("drafter")
    from accounts.services import assign_role

    assign_role(drafting_rm, actor=None, group=settings.PDP_RELEASE_GROUP)
    with pytest.raises(ReleaseRefused, match="drafter of"):
        schedule_promotion(on_staging.rule, actor=drafting_rm, at=_soon())
    assert not ScheduledPromotion.objects.exists()


def test_only_one_waits_per_rule_and_environment(on_staging, release_manager):
    """A second schedule for the same rule and environment is refused; the database holds the same line."""
    first = schedule_promotion(on_staging.rule, actor=release_manager, at=_soon())
    with pytest.raises(InvalidTransition, match="already scheduled"):
        schedule_promotion(on_staging.rule, actor=release_manager, at=_soon(2))
    with pytest.raises(IntegrityError), transaction.atomic():
        ScheduledPromotion.objects.create(
            rule=first.rule, version=first.version, environment=first.environment, at=_soon(3),
            created_by=release_manager,
        )  # fmt: skip
    assert ScheduledPromotion.objects.count() == 1


def test_cancel_records_who_and_why(on_staging, release_manager):
    schedule = schedule_promotion(on_staging.rule, actor=release_manager, at=_soon())
    cancel_scheduled_promotion(schedule, actor=release_manager, reason="Wait for the budget")
    schedule.refresh_from_db()
    assert (schedule.state, schedule.cancelled_by, schedule.outcome) == (
        Scheduled.CANCELLED, release_manager, "Cancelled by release_manager: Wait for the budget",
    )  # fmt: skip
    assert schedule.cancelled_at is not None
    event = last_event("release.schedule.cancel")
    assert (event.outcome, event.actor, event.target_id) == ("done", release_manager, str(schedule.pk))
    assert event.data["reason"] == "Wait for the budget"
    # Nothing to cancel twice, and nothing is carried out.
    with pytest.raises(InvalidTransition, match="no longer scheduled"):
        cancel_scheduled_promotion(schedule, actor=release_manager)
    assert run_due_promotions(now=_soon(2)) == []
    assert live_version(on_staging.rule, "production") is None


def test_cancel_takes_the_release_manager_role(on_staging, release_manager, counsel):
    schedule = schedule_promotion(on_staging.rule, actor=release_manager, at=_soon())
    with pytest.raises(NotPermitted, match="may not cancel"):
        cancel_scheduled_promotion(schedule, actor=counsel)
    schedule.refresh_from_db()
    assert schedule.state == Scheduled.SCHEDULED
    assert last_event("release.schedule.cancel").outcome == "refused"


def test_the_beat_task_carries_out_a_due_one_and_not_a_future_one(on_staging, with_other_rule, release_manager):
    """At its time the system promotes, for the person who scheduled it; a later one waits."""
    due = schedule_promotion(on_staging.rule, actor=release_manager, at=_soon(1), note="New year")
    later = schedule_promotion(with_other_rule.rule, actor=release_manager, at=_soon(5))
    assert run_due_promotions_task.delay().get() == []  # neither is due yet
    assert run_due_promotions(now=_soon(2)) == [due]
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.state, later.state) == (Scheduled.DONE, Scheduled.SCHEDULED)
    assert due.outcome == "Production: v0 → v1."
    assert due.carried_out_at is not None
    assert live_version(on_staging.rule, "production") == on_staging.pk
    assert live_version(with_other_rule.rule, "production") is None
    deployment = due.deployment
    assert (deployment.actor, deployment.kind, deployment.note) == (None, "promote", "New year")
    assert deployment.actor_label == "System, scheduled by release_manager"
    event = last_event("release.promote")
    assert (event.outcome, event.actor, event.actor_name) == ("done", None, "")
    assert (event.data["on_behalf_of"], event.data["schedule"], event.data["to"]) == ("release_manager", due.pk, "v1")
    # Carried out once: a second run finds nothing due.
    assert run_due_promotions(now=_soon(2)) == []
    assert Deployment.objects.filter(schedule=due).count() == 1


@pytest.fixture
def with_other_rule(push, drafter, counsel, budget_officer):
    from tests.conftest import approve_by_both, document

    # Another program, another threshold: neither a duplicate nor a conflict of the wildfire rule.
    eligibility = {
        "and": [
            {">=": [{"var": "age"}, 21]},
            {"==": [{"var": "in_fire_zone"}, True]},
            {"==": [{"var": "home_damaged"}, True]},
        ]
    }
    version = push(document(rule="flood-aid-2025", program="flood", eligibility=eligibility), actor=drafter)
    assert version.status == "in_review", version.checks.values_list("findings", flat=True)
    approve_by_both(version, counsel, budget_officer)
    return version


def test_a_rejection_meanwhile_makes_it_fail_with_the_reason(on_staging, release_manager, counsel):
    """At the time the promote service checks again: sign-offs withdrawn meanwhile refuse it, failed and audited."""
    schedule = schedule_promotion(on_staging.rule, actor=release_manager, at=_soon())
    # The legal sign-off no longer holds (as when a reviewer's sign-off is withdrawn behind the portal's back).
    Review.objects.filter(version=on_staging, reviewer=counsel).update(content_hash="0" * 64)
    assert run_due_promotions(now=_soon(2)) == [schedule]
    schedule.refresh_from_db()
    assert schedule.state == Scheduled.FAILED
    assert (
        schedule.outcome
        == "Refused at its time: Wildfire-Aid-2024 v1 does not have every required sign-off on its content."
    )
    assert live_version(on_staging.rule, "production") is None
    event = last_event("release.schedule.fail")
    assert (event.outcome, event.actor, event.target_id) == ("done", None, str(schedule.pk))
    assert event.data["on_behalf_of"] == "release_manager"
    assert event.data["reason"].endswith("does not have every required sign-off on its content.")
    assert not Deployment.objects.filter(environment__name="production").exists()


def test_a_release_manager_who_lost_the_role_fails(on_staging, release_manager):
    """The promotion is checked for the person who scheduled it, as they stand at the time."""
    from accounts.services import set_roles

    schedule = schedule_promotion(on_staging.rule, actor=release_manager, at=_soon())
    set_roles(release_manager, actor=None, groups=[])
    run_due_promotions(now=_soon(2))
    schedule.refresh_from_db()
    assert schedule.state == Scheduled.FAILED
    assert "may not promote" in schedule.outcome
    assert live_version(on_staging.rule, "production") is None


def test_a_rollback_before_the_time_cancels_it(with_v2_live, release_manager, push, drafter, counsel, budget_officer):
    """A move of the pointer makes the schedule out of date: it is cancelled, and the move's event says so."""
    from tests.conftest import approve_by_both, document

    v1, v2 = with_v2_live
    v3 = push(document(title="v3"), actor=drafter)
    approve_by_both(v3, counsel, budget_officer)
    schedule = schedule_promotion(v1.rule, actor=release_manager, at=_soon())
    assert schedule.version == v3
    deployment = rollback(v1.rule, actor=release_manager, reason="Congress requested pause")
    schedule.refresh_from_db()
    assert (schedule.state, schedule.cancelled_by) == (Scheduled.CANCELLED, release_manager)
    assert schedule.outcome == "Cancelled by the rollback of production from v2 to v1 by release_manager."
    assert last_event("release.rollback").data["cancelled_schedule"] == schedule.pk
    assert run_due_promotions(now=_soon(2)) == []
    assert live_version(v1.rule, "production") == deployment.to_version_id == v1.pk


def test_a_moved_pointer_fails_it_at_the_time(with_v2_live, release_manager, push, drafter, counsel, budget_officer):
    """A schedule that a move did not cancel (it was being carried out) fails when production serves something else."""
    from tests.conftest import approve_by_both, document

    v1, _ = with_v2_live
    v3 = push(document(title="v3"), actor=drafter)
    approve_by_both(v3, counsel, budget_officer)
    schedule = schedule_promotion(v1.rule, actor=release_manager, at=_soon())
    ScheduledPromotion.objects.filter(pk=schedule.pk).update(from_version=v1)  # as if scheduled when v1 was live
    run_due_promotions(now=_soon(2))
    schedule.refresh_from_db()
    assert schedule.state == Scheduled.FAILED
    assert "Production now serves v2, not the v1 it served when this promotion was scheduled" in schedule.outcome
    assert promote(v1.rule, actor=release_manager).to_version == v3  # promoting now still works


def test_the_beat_task_at_the_real_clock(on_staging, with_other_rule, release_manager):
    """The task as beat calls it (no time given): one whose time has passed is carried out, a future one waits."""
    due = schedule_promotion(on_staging.rule, actor=release_manager, at=_soon(1))
    later = schedule_promotion(with_other_rule.rule, actor=release_manager, at=_soon(1))
    ScheduledPromotion.objects.filter(pk=due.pk).update(at=timezone.now() - timedelta(seconds=1))  # its time came
    assert run_due_promotions_task.delay().get() == [due.pk]
    due.refresh_from_db()
    later.refresh_from_db()
    assert (due.state, later.state) == (Scheduled.DONE, Scheduled.SCHEDULED)
    assert live_version(on_staging.rule, "production") == on_staging.pk


def test_beat_runs_the_task_every_poll_interval():
    """PDP_SCHEDULE_POLL_SECONDS (default 15) is how often beat asks for due promotions."""
    entry = settings.CELERY_BEAT_SCHEDULE["run-due-promotions"]
    assert entry == {"task": "deployments.tasks.run_due_promotions", "schedule": 15.0}
    assert run_due_promotions_task.name == entry["task"]
