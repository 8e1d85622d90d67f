"""The rule page's review, comment and rollback forms in the USWDS error pattern.

A problem with what a field says comes back as the page again (400): an error summary linking to
the field, the message at the field, the control marked aria-invalid and described by it, what
was typed kept. A refusal of the request as a whole (the version left review, the pointer moved)
is said at the top of the page, which shows what is true now. Nothing changes either way.
"""

import html
import re

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from deployments.models import Deployment, Release
from reviews.models import Review, ReviewComment
from reviews.services import reject_version


def _page(response):
    return html.unescape(response.content.decode())


def said_at_field(page, summary_id, control_id, label, message):
    """The summary `summary_id` links to `control_id` with `label: message`; the message and aria-invalid are at it."""
    summary = page[page.index(f'id="{summary_id}"') :].split("</ul>")[0]
    assert f'<a class="usa-link" href="#{control_id}">{label}: {message}</a>' in summary, summary
    assert f'<span class="usa-error-message" id="{control_id}_error">{message}</span>' in page
    control = re.search(rf'<(?:textarea|select|input)[^>]*\bid="{re.escape(control_id)}"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in control, control
    assert f"{control_id}_error" in control, control
    return control


def _rollback(client, version, **data):
    return client.post(reverse("rule-rollback", args=[version.rule.slug]), data)


def test_a_rollback_without_a_reason_is_the_form_again_at_its_reason(client, in_production, release_manager):
    """A blank reason: 400, said at the reason, the environment and target chosen kept; nothing moved."""
    client.force_login(release_manager)
    moves = Deployment.objects.count()
    response = _rollback(client, in_production, environment="staging", to="v0", reason="   ", seen_staging="v1")
    assert response.status_code == 400
    page = _page(response)
    said_at_field(page, "error-summary-rollback", "rollback-reason", "Reason", "A rollback needs a reason.")
    assert '<h2 class="usa-alert__heading" id="error-summary-rollback-heading">Nothing was rolled back</h2>' in page
    assert re.search(r'<option value="staging"[^>]*selected', page)
    assert re.search(r'<option value="v0"[^>]*selected', page)
    assert Deployment.objects.count() == moves
    assert Release.objects.get(rule=in_production.rule, environment__name="production").version == in_production
    refusal = AuditEvent.objects.filter(action="release.rollback").get()
    assert refusal.outcome == "refused" and "needs a reason" in refusal.data["reason"]


@pytest.mark.parametrize(
    "to, message",
    [
        ("v1", "v1 is already what production serves."),
        ("v7", "Wildfire-Aid-2024 has no v7."),
        ("yesterday", "Roll back to 'previous', 'v0' or a version such as 'v3', not 'yesterday'."),
    ],
)
def test_a_target_that_cannot_be_gone_back_to_is_said_at_go_back_to(
    client, in_production, release_manager, to, message
):
    client.force_login(release_manager)
    response = _rollback(client, in_production, environment="production", to=to, reason="Pause", seen_production="v1")
    assert response.status_code in (400, 409)
    page = _page(response)
    said_at_field(page, "error-summary-rollback", "rollback-to", "Go back to", message)
    assert "Pause</textarea>" in page  # the reason typed is kept
    assert not Deployment.objects.filter(kind=Deployment.Kind.ROLLBACK).exists()


def test_a_pointer_that_moved_meanwhile_is_said_at_the_top_of_the_page_as_it_is_now(
    client, in_production, release_manager
):
    """The person saw v0 on production; it serves v1: back to the page, which says so and shows v1."""
    client.force_login(release_manager)
    response = _rollback(client, in_production, environment="production", to="v0", reason="Pause", seen_production="v0")
    assert response.status_code == 302
    page = _page(client.get(response["Location"]))
    assert "Production now serves v1, not the v0 you saw; reload and decide again." in page
    assert 'id="error-summary-rollback"' not in page
    assert not Deployment.objects.filter(kind=Deployment.Kind.ROLLBACK).exists()


def test_an_empty_comment_is_the_form_again_at_the_comment(client, in_review, counsel):
    client.force_login(counsel)
    url = reverse("version-comment", args=[in_review.rule.slug, in_review.number])
    response = client.post(url, {"body": "  "})
    assert response.status_code == 400
    said_at_field(
        _page(response),
        "error-summary-comment",
        "comment-body",
        "Comment without deciding",
        "Write the comment first: it is empty.",
    )
    assert not ReviewComment.objects.exists()


def test_a_too_long_approval_comment_is_said_at_the_approve_form_and_kept(client, in_review, counsel):
    """Over 5,000 characters: the approve form again, the text kept; no sign-off."""
    client.force_login(counsel)
    url = reverse("version-approve", args=[in_review.rule.slug, in_review.number])
    long_comment = "x" * 5001
    response = client.post(url, {"expected_hash": in_review.content_hash, "role": "legal", "comment": long_comment})
    assert response.status_code == 400
    page = _page(response)
    said_at_field(
        page,
        "error-summary-approve-legal",
        "approve-comment-legal",
        "Comment",
        "Ensure this value has at most 5000 characters (it has 5001).",
    )
    assert f">\n{long_comment}</textarea>" in page or f">{long_comment}</textarea>" in page
    assert 'id="error-summary-reject-legal"' not in page
    assert not Review.objects.exists()


def test_a_review_of_a_version_no_longer_in_review_is_a_message_on_the_page(client, in_review, counsel, budget_officer):
    """Budget rejected it meanwhile: Legal's rejection is refused at the top of the page, which shows no review form."""
    reject_version(in_review, actor=budget_officer, expected_hash=in_review.content_hash, comment="Too costly.")
    client.force_login(counsel)
    url = reverse("version-reject", args=[in_review.rule.slug, in_review.number])
    response = client.post(url, {"expected_hash": in_review.content_hash, "role": "legal", "comment": "Wrong act."})
    assert response.status_code == 302
    page = _page(client.get(response["Location"]))
    assert "Wildfire-Aid-2024 v1 is rejected, not in review." in page
    assert "error-summary-reject-legal" not in page
    assert Review.objects.count() == 1


def test_a_refused_form_the_page_no_longer_shows_is_said_as_a_message(client, in_review, counsel, budget_officer):
    """A comment too long for a role's form the page does not show (no such role): said at the top, 400."""
    client.force_login(counsel)
    url = reverse("version-reject", args=[in_review.rule.slug, in_review.number])
    response = client.post(url, {"expected_hash": in_review.content_hash, "role": "x" * 21, "comment": "No."})
    assert response.status_code == 400
    page = _page(response)
    assert "The form could not be read (role: Ensure this value has at most 20 characters (it has 21).)" in page
    assert "usa-alert--error" in page
    assert not Review.objects.exists()
