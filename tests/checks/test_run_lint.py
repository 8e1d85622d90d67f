"""checks/services.py run_lint: the lint job's state changes, idempotence and cancellation."""

from checks.models import CheckRun
from checks.services import run_lint
from engine.logic.evaluate import ENGINE_VERSION
from tests.conftest import document, last_event, pipeline_events
from tests.deployments.support import events


def test_lint_passes_and_queues_simulation(push_queued, drafter, django_capture_on_commit_callbacks):
    """A clean document: the check passes, the version moves to simulating, a simulation check is queued."""
    version = push_queued(actor=drafter)
    lint = version.checks.get(kind="lint")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        check = run_lint(lint.pk)
    version.refresh_from_db()
    lint.refresh_from_db()
    assert check.pk == lint.pk
    assert version.status == "simulating"
    assert (lint.status, lint.progress, lint.attempts, lint.findings, lint.engine_version) == (
        "passed", 100, 1, [], ENGINE_VERSION,
    )  # fmt: skip
    assert lint.started_at <= lint.finished_at and lint.duration_s >= 0
    simulation = version.checks.get(kind="simulation")
    assert simulation.status == "queued"
    assert len(callbacks) == 1  # the simulation job, published after commit
    event = last_event("check.lint")
    assert (event.outcome, event.actor, event.target_id, event.rule_slug) == (
        "done",
        None,
        str(version.pk),
        "wildfire-aid-2024",
    )
    assert event.data == {
        "check": lint.pk,
        "status": "passed",
        "errors": 0,
        "warnings": 0,
        "duration_s": lint.duration_s,
    }


def test_lint_failure_stores_findings_and_stops(push_queued, drafter):
    """A document with lint errors fails its check with the findings, and no simulation is queued."""
    version = push_queued(document(valid_from="2026-01-01", tests=None), actor=drafter)
    lint = version.checks.get(kind="lint")
    run_lint(lint.pk)
    version.refresh_from_db()
    lint.refresh_from_db()
    assert version.status == "lint_failed"
    assert lint.status == "failed"
    assert [(f["code"], f["path"]) for f in lint.findings] == [("VALIDITY_WINDOW", "$.valid_to"), ("NO_TESTS", "$")]
    assert not version.checks.filter(kind="simulation").exists()
    event = last_event("check.lint")
    assert (event.data["status"], event.data["errors"], event.data["warnings"]) == ("failed", 1, 0)


def test_lint_reads_the_population_columns(push_queued, drafter):
    """A rule reading a variable the default population lacks fails with INPUT_NOT_IN_POPULATION."""
    eligibility = {"==": [{"var": "owns_boat"}, True]}
    version = push_queued(document(eligibility=eligibility, inputs=["owns_boat"], tests=None), actor=drafter)
    run_lint(version.checks.get().pk)
    lint = version.checks.get()
    assert "INPUT_NOT_IN_POPULATION" in [f["code"] for f in lint.findings]
    assert lint.status == "failed"
    assert (last_event("check.lint").data["status"], last_event("check.lint").data["errors"]) == ("failed", 1)


def test_rerun_on_a_finished_check_changes_nothing(in_review):
    """A re-delivered lint job for a finished check returns without a change or a second audit event."""
    lint = in_review.checks.get(kind="lint")
    before = pipeline_events().count()
    assert run_lint(lint.pk) is None
    after = CheckRun.objects.get(pk=lint.pk)
    in_review.refresh_from_db()
    assert (after.status, after.attempts, after.finished_at) == ("passed", lint.attempts, lint.finished_at)
    assert in_review.status == "in_review"
    assert pipeline_events().count() == before
    assert len(events("check.lint")) == 1


def test_unknown_check_id_is_a_no_op(db):
    """A job for a check that does not exist does nothing."""
    assert run_lint(999_999) is None
    assert not pipeline_events().filter(action="check.lint").exists()


def test_lint_of_a_superseded_version_is_cancelled(push_queued, drafter):
    """A lint job that arrives after a newer push finds its check cancelled and leaves everything as is."""
    v1 = push_queued(actor=drafter)
    lint = v1.checks.get()
    push_queued(document(amount=4000, tests=None), actor=drafter)
    assert run_lint(lint.pk) is None
    v1.refresh_from_db()
    lint.refresh_from_db()
    assert (v1.status, lint.status, lint.attempts) == ("superseded", "cancelled", 0)
    assert not events("check.lint")


def test_lint_claimed_then_superseded_is_not_finished(push_queued, drafter):
    """A lint job a worker claimed, whose version was superseded while it ran, is not finished by a re-delivery."""
    v1 = push_queued(actor=drafter)
    lint = v1.checks.get()
    CheckRun.objects.filter(pk=lint.pk).update(status="running", attempts=1)
    v1.status = "linting"
    v1.save(update_fields=["status"])
    push_queued(document(amount=4000, tests=None), actor=drafter)
    lint.refresh_from_db()
    assert lint.status == "cancelled"
    assert run_lint(lint.pk) is None
    v1.refresh_from_db()
    assert v1.status == "superseded"
    assert not events("check.lint")
