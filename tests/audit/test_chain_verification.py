"""audit/services.py: verifying the chain as background work, with its progress and its result."""

import pgtrigger
import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent, ChainVerification
from audit.services import record_event, request_chain_verification, run_chain_verification
from pdp_portal.exceptions import NotPermitted
from tests.conftest import last_event, pipeline_events


def tamper(sql, params):
    """Change a stored event behind the application's back (past the trigger on PostgreSQL)."""
    with pgtrigger.ignore("audit.AuditEvent:audit_append_only"), connection.cursor() as cursor:
        cursor.execute(sql, params)


def add_events(count):
    return [record_event("test.event", actor=None, data={"n": n}) for n in range(count)]


def test_request_queues_one_job_records_it_and_the_job_runs(django_capture_on_commit_callbacks, release_manager):
    """A request makes one verification and one audit.verify.request event; after the commit the job runs."""
    add_events(3)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        verification = request_chain_verification(actor=release_manager)
    assert len(callbacks) == 1  # enqueued only once the transaction commits
    assert ChainVerification.objects.count() == 1
    assert (verification.status, verification.requested_by) == ("queued", release_manager)
    event = last_event()
    assert (event.action, event.outcome, event.actor) == ("audit.verify.request", "done", release_manager)
    assert event.data == {"verification": verification.pk}
    assert (event.target_type, event.target_id) == ("audit.chainverification", str(verification.pk))

    callbacks[0]()
    verification.refresh_from_db()
    assert verification.status == "passed"
    assert last_event().action == "audit.verify"


def test_the_job_stores_its_result_and_records_one_event(release_manager):
    """A passed run: every event up to the request counted, no problems, one audit.verify event with the figures."""
    add_events(4)
    verification = ChainVerification.objects.create(requested_by=release_manager)
    before = AuditEvent.objects.count()
    result = run_chain_verification(verification.pk)
    assert result.pk == verification.pk
    verification.refresh_from_db()
    assert verification.status == ChainVerification.Status.PASSED
    assert (verification.total, verification.checked, verification.problem_count) == (before, before, 0)
    assert verification.problems == []
    assert verification.started_at <= verification.finished_at and verification.duration_s >= 0
    assert AuditEvent.objects.count() == before + 1
    event = last_event()
    assert (event.action, event.outcome, event.actor) == ("audit.verify", "done", release_manager)
    assert event.data == {
        "checked": before,
        "ok": True,
        "problems": 0,
        "duration_s": verification.duration_s,
        "verification": verification.pk,
    }


def test_a_tampered_chain_fails_with_its_problems(in_production, release_manager):
    """After one event is rewritten the job fails, names the event, and records ok=False."""
    target = last_event("review.approve")
    tamper("UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"rewritten": true}', target.pk])
    verification = ChainVerification.objects.create(requested_by=release_manager)
    run_chain_verification(verification.pk)
    verification.refresh_from_db()
    assert verification.status == ChainVerification.Status.FAILED
    assert verification.problem_count == 1
    assert verification.problems == [f"event #{target.pk}: stored hash does not match its content"]
    event = last_event()
    assert event.action == "audit.verify" and event.data["ok"] is False and event.data["problems"] == 1


def test_only_the_first_twenty_problems_are_kept(release_manager):
    """Twenty-five breaks: all are counted, the first twenty are kept."""
    for event in add_events(25):
        tamper("UPDATE audit_auditevent SET actor_name = %s WHERE id = %s", ["someone", event.pk])
    verification = ChainVerification.objects.create(requested_by=release_manager)
    run_chain_verification(verification.pk)
    verification.refresh_from_db()
    assert (verification.status, verification.problem_count, len(verification.problems)) == ("failed", 25, 20)
    assert last_event().data["problems"] == 25


def test_a_finished_verification_is_left_as_it_is(release_manager):
    """A re-delivered job for a finished verification changes nothing and records nothing."""
    add_events(2)
    verification = ChainVerification.objects.create(requested_by=release_manager)
    run_chain_verification(verification.pk)
    verification.refresh_from_db()
    events = AuditEvent.objects.count()
    again = run_chain_verification(verification.pk)
    again.refresh_from_db()
    assert (again.status, again.finished_at) == (verification.status, verification.finished_at)
    assert AuditEvent.objects.count() == events
    assert run_chain_verification(10**9) is None


def test_a_redelivered_running_job_starts_again_from_the_first_event(release_manager):
    """A verification found running (its worker died) is counted again from the start, and finishes once."""
    add_events(3)
    stale = timezone.now() - timezone.timedelta(minutes=1)
    verification = ChainVerification.objects.create(
        requested_by=release_manager, status="running", checked=2, total=3, started_at=stale, heartbeat_at=stale
    )
    run_chain_verification(verification.pk)
    verification.refresh_from_db()
    assert (
        verification.status == "passed" and verification.checked == verification.total == AuditEvent.objects.count() - 1
    )
    assert verification.started_at > stale
    assert AuditEvent.objects.filter(action="audit.verify").count() == 1


def test_progress_is_written_while_the_walk_runs(release_manager, monkeypatch):
    """The row's count and heartbeat move on during the walk, so the page can show them."""
    add_events(3)
    verification = ChainVerification.objects.create(requested_by=release_manager)
    seen = []

    def walk(*, progress, through):
        progress(2)
        row = ChainVerification.objects.get(pk=verification.pk)
        seen.append((row.status, row.checked, row.total, row.heartbeat_at >= row.started_at))
        return AuditEvent.objects.count(), []

    # The walk itself is tested in test_verify_chain.py; here only what the job does with its reports.
    monkeypatch.setattr("audit.services.verify_chain", walk)
    run_chain_verification(verification.pk)
    assert seen == [("running", 2, AuditEvent.objects.count() - 1, True)]


def test_a_second_request_while_one_runs_returns_it_and_writes_nothing(
    django_capture_on_commit_callbacks, release_manager, superuser
):
    """While a verification is queued or running, asking again gives the same one: no new row, event or job."""
    with django_capture_on_commit_callbacks(execute=False):
        first = request_chain_verification(actor=release_manager)
    events = AuditEvent.objects.count()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = request_chain_verification(actor=superuser)
    assert again.pk == first.pk and callbacks == []
    ChainVerification.objects.filter(pk=first.pk).update(
        status="running", started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert request_chain_verification(actor=superuser).pk == first.pk
    assert callbacks == []
    assert ChainVerification.objects.count() == 1 and AuditEvent.objects.count() == events


@pytest.mark.parametrize("status", ["queued", "running"])
def test_a_stuck_verification_is_replaced(django_capture_on_commit_callbacks, settings, release_manager, status):
    """One left queued or silent longer than PDP_STUCK_CHECK_SECONDS is marked error and a new one runs."""
    long_ago = timezone.now() - timezone.timedelta(seconds=settings.PDP_STUCK_CHECK_SECONDS + 5)
    stuck = ChainVerification.objects.create(requested_by=release_manager, status=status)
    ChainVerification.objects.filter(pk=stuck.pk).update(
        created_at=long_ago,
        started_at=long_ago if status == "running" else None,
        heartbeat_at=long_ago if status == "running" else None,
    )
    with django_capture_on_commit_callbacks(execute=True):
        fresh = request_chain_verification(actor=release_manager)
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert fresh.pk != stuck.pk and fresh.status == "passed"
    assert stuck.status == "error" and stuck.finished_at is not None and "Abandoned" in stuck.note
    request = last_event("audit.verify.request")
    assert request.data == {"verification": fresh.pk, "replaced": stuck.pk}


def test_a_running_verification_with_a_fresh_heartbeat_is_not_replaced(settings, release_manager):
    """A long walk that still reports progress is not stuck, however long ago it started."""
    long_ago = timezone.now() - timezone.timedelta(seconds=settings.PDP_STUCK_CHECK_SECONDS * 3)
    running = ChainVerification.objects.create(requested_by=release_manager, status="running")
    ChainVerification.objects.filter(pk=running.pk).update(
        created_at=long_ago, started_at=long_ago, heartbeat_at=timezone.now()
    )
    assert request_chain_verification(actor=release_manager).pk == running.pk


def test_an_abandoned_run_does_not_write_over_its_replacement(release_manager, monkeypatch):
    """A worker that finishes after its verification was marked error leaves the row and the chain alone."""
    add_events(2)
    verification = ChainVerification.objects.create(requested_by=release_manager)

    def walk(*, progress, through):
        ChainVerification.objects.filter(pk=verification.pk).update(status="error", note="Abandoned")
        return 2, []

    # Stands in for the walk only to let the abandonment happen while it runs, without threads.
    monkeypatch.setattr("audit.services.verify_chain", walk)
    run_chain_verification(verification.pk)
    verification.refresh_from_db()
    assert verification.status == "error" and verification.finished_at is None
    assert not AuditEvent.objects.filter(action="audit.verify").exists()


@pytest.mark.parametrize("who", ["outsider", "drafter", "counsel", "budget_officer"])
def test_anyone_but_a_release_manager_or_administrator_is_refused_and_it_is_recorded(request, who):
    """A request from anyone else makes no verification; the refusal, with its reason, is the only event."""
    person = request.getfixturevalue(who)
    with pytest.raises(NotPermitted):
        request_chain_verification(actor=person)
    assert not ChainVerification.objects.exists()
    event = last_event()
    assert (event.action, event.outcome, event.actor) == ("audit.verify.request", "refused", person)
    assert event.data["reason"] == "The audit history is for release managers and administrators; ask one of them."
    assert pipeline_events().count() == 1
