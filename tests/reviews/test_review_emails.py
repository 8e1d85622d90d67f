"""The drafter's e-mail when the review of their version ends, approved or rejected."""

import pytest

from deployments.models import Release
from pdp_portal.exceptions import ReviewRefused
from reviews import notifications
from reviews.models import ReviewAssignment
from reviews.services import approve_version, assign_reviewer, reject_version

RULE_PAGE = "http://127.0.0.1:8000/rules/wildfire-aid-2024/?v=1"


class RefusingBackend:
    """A mail server that is down."""

    def __init__(self, *args, **kwargs):
        pass

    attempts = 0

    def send_messages(self, messages):
        RefusingBackend.attempts += 1
        raise ConnectionRefusedError("mail server down")


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Call a service and run what waits for its commit, as a request would."""

    def _call(service, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(*args, **kwargs)

    return _call


def test_last_approval_emails_the_drafter(in_review, counsel, budget_officer, committed, mailoutbox):
    """Both sign-offs in: the drafter is told who approved and that the version is on staging."""
    committed(approve_version, in_review, actor=counsel, expected_hash=in_review.content_hash)
    assert mailoutbox == []  # the first sign-off ends nothing
    committed(approve_version, in_review, actor=budget_officer, expected_hash=in_review.content_hash)

    assert Release.objects.get(rule=in_review.rule, environment__name="staging").version == in_review
    [mail] = mailoutbox
    assert mail.to == ["drafter@example.org"]
    assert mail.subject == "Approved: Wildfire-Aid-2024 v1 is on staging"
    assert (
        "Wildfire-Aid-2024 v1 (Wildfire Relief Payment 2024) was approved by Legal (counsel) and Budget (budget_officer); "
        "it is now on staging."
    ) in " ".join(mail.body.split())
    assert RULE_PAGE in mail.body


def test_roles_are_named_in_their_configured_order(in_review, counsel, budget_officer, committed, mailoutbox):
    """Budget signing first still reads 'Legal (...) and Budget (...)'."""
    committed(approve_version, in_review, actor=budget_officer, expected_hash=in_review.content_hash)
    committed(approve_version, in_review, actor=counsel, expected_hash=in_review.content_hash)
    assert "approved by Legal (counsel) and Budget (budget_officer)" in mailoutbox[0].body


def test_full_names_are_used_when_known(in_review, counsel, budget_officer, committed, mailoutbox):
    """A reviewer with a name on their account is named by it."""
    counsel.first_name, counsel.last_name = "Ada", "Lovelace"
    counsel.save(update_fields=["first_name", "last_name"])
    committed(approve_version, in_review, actor=counsel, expected_hash=in_review.content_hash)
    committed(approve_version, in_review, actor=budget_officer, expected_hash=in_review.content_hash)
    assert "Legal (Ada Lovelace)" in mailoutbox[0].body


def test_rejection_emails_the_drafter_with_the_comment(in_review, counsel, budget_officer, committed, mailoutbox):
    """A rejection tells the drafter which role rejected it, who, and why."""
    committed(approve_version, in_review, actor=counsel, expected_hash=in_review.content_hash)
    committed(
        reject_version,
        in_review,
        actor=budget_officer,
        expected_hash=in_review.content_hash,
        comment="Costs more than the fund holds.",
    )
    [mail] = mailoutbox
    assert mail.to == ["drafter@example.org"]
    assert mail.subject == "Rejected: Wildfire-Aid-2024 v1 (Budget)"
    assert "was rejected by Budget (budget_officer):" in mail.body
    assert "Costs more than the fund holds." in mail.body
    assert RULE_PAGE in mail.body


def test_comment_is_sent_as_written(in_review, counsel, committed, mailoutbox):
    """A plain-text e-mail carries the comment without HTML escaping."""
    committed(
        reject_version, in_review, actor=counsel, expected_hash=in_review.content_hash, comment="Income < 30% & 'fine'"
    )
    assert "Income < 30% & 'fine'" in mailoutbox[0].body


def test_refused_approval_sends_nothing(in_review, drafter, committed, mailoutbox):
    """A refused sign-off ends nothing and sends nothing."""
    with pytest.raises(ReviewRefused):
        committed(approve_version, in_review, actor=drafter, expected_hash=in_review.content_hash)
    assert mailoutbox == []


def test_drafter_without_an_email_address_gets_none(in_review, drafter, counsel, committed, mailoutbox):
    """The review ends all the same."""
    drafter.email = ""
    drafter.save(update_fields=["email"])
    committed(reject_version, in_review, actor=counsel, expected_hash=in_review.content_hash, comment="No.")
    in_review.refresh_from_db()
    assert in_review.status == "rejected"
    assert mailoutbox == []


def test_mail_server_down_leaves_the_change_standing_and_the_worker_retries(
    in_review, release_manager, counsel, django_capture_on_commit_callbacks, mailoutbox, settings
):
    """An assignment whose e-mail cannot be sent stands; the worker's task tries again, then gives up."""
    from pdp_portal.celery import app
    from reviews.tasks import RETRY, send_review_requested_task

    RefusingBackend.attempts = 0
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assignment = assign_reviewer(in_review, actor=release_manager, reviewer=counsel, role="legal")
    assert len(callbacks) == 1  # the message is the worker's job, after the commit
    app.conf.task_eager_propagates = False  # as on a worker: a failure is the task's result, not a raise
    try:
        result = send_review_requested_task.apply(args=[assignment.pk], throw=False)
    finally:
        app.conf.task_eager_propagates = True
    assert result.failed() and isinstance(result.result, ConnectionRefusedError)
    assert RefusingBackend.attempts == RETRY["max_retries"] + 1
    assert ReviewAssignment.objects.filter(pk=assignment.pk).exists()
    assert mailoutbox == []


def test_a_malformed_address_is_logged_not_retried(in_review, release_manager, counsel, caplog, mailoutbox):
    """An address no server could take is logged once and the task ends; retrying would not help."""
    from reviews.tasks import send_review_requested_task

    assignment = assign_reviewer(in_review, actor=release_manager, reviewer=counsel, role="legal")
    type(counsel).objects.filter(pk=counsel.pk).update(email="counsel@example.org\nBcc: x@example.org")
    assert send_review_requested_task.apply(args=[assignment.pk]).get() is False
    assert "Could not send 'Review requested: Wildfire-Aid-2024 v1 (Legal)'" in caplog.text
    assert mailoutbox == []


def test_review_not_ended_has_no_message(in_review):
    """A version still in review has nothing to tell its drafter."""
    assert notifications.review_ended(in_review) is None
    assert notifications.send_review_ended(in_review.pk) is False
