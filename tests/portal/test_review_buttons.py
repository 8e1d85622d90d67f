"""The Approve and Reject buttons on the rule page: who sees them, and what pressing them does."""

import html

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from deployments.models import Release
from reviews.models import Review

APPROVE = ">Approve</button>"
REJECT = ">Reject</button>"


def _page(client, version):
    response = client.get(reverse("rule-detail", args=[version.rule.slug]))
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def _post(client, name, version, **data):
    return client.post(reverse(name, args=[version.rule.slug, version.number]), data, follow=True)


@pytest.mark.parametrize("who", ["counsel", "budget_officer"])
def test_each_reviewer_sees_the_buttons_for_their_role(request, client, in_review, who):
    """A reviewer whose sign-off is open sees Approve and Reject, bound to the hash on the page."""
    client.force_login(request.getfixturevalue(who))
    page = _page(client, in_review)
    assert APPROVE in page and REJECT in page
    assert f'name="expected_hash" value="{in_review.content_hash}"' in page


@pytest.mark.parametrize("who", ["drafter", "release_manager", "superuser"])
def test_people_who_cannot_sign_off_see_no_buttons(request, client, in_review, who):
    """The drafter, the release manager and a superuser without a review role get no review buttons."""
    client.force_login(request.getfixturevalue(who))
    page = _page(client, in_review)
    assert APPROVE not in page and REJECT not in page


def test_approve_button_shows_only_to_the_reviewer_whose_turn_it_is(client, in_review, counsel, budget_officer):
    """After Legal signs off, Legal's buttons are gone and Budget's remain."""
    client.force_login(counsel)
    _post(client, "version-approve", in_review, expected_hash=in_review.content_hash, role="legal")
    assert APPROVE not in _page(client, in_review)
    client.force_login(budget_officer)
    page = _page(client, in_review)
    assert APPROVE in page
    assert 'name="role" value="budget"' in page and 'name="role" value="legal"' not in page


def test_both_approvals_put_the_version_on_staging(client, in_review, counsel, budget_officer):
    """Legal then Budget press Approve: each sees a confirmation, and the second puts it live on staging."""
    client.force_login(counsel)
    response = _post(client, "version-approve", in_review, expected_hash=in_review.content_hash, role="legal")
    assert response.redirect_chain[-1][0].endswith("?v=1")
    assert "Legal sign-off recorded on Wildfire-Aid-2024 v1." in html.unescape(response.content.decode())
    client.force_login(budget_officer)
    response = _post(
        client, "version-approve", in_review, expected_hash=in_review.content_hash, role="budget", comment="Fits."
    )
    page = html.unescape(response.content.decode())
    assert "All required reviews received." in page and "Promoted to STAGING" in page
    in_review.refresh_from_db()
    assert in_review.status == "approved"
    assert Release.objects.get(rule=in_review.rule, environment__name="staging").version == in_review
    assert set(Review.objects.values_list("role", "reviewer__username", "comment")) == {
        ("legal", "counsel", ""),
        ("budget", "budget_officer", "Fits."),
    }


def test_reject_with_a_comment_ends_the_review(client, in_review, counsel):
    """Reject with a comment rejects the version and shows the comment back."""
    client.force_login(counsel)
    response = _post(
        client,
        "version-reject",
        in_review,
        expected_hash=in_review.content_hash,
        role="legal",
        comment="Wrong citation.",
    )
    assert "rejected (Legal): Wrong citation." in html.unescape(response.content.decode())
    in_review.refresh_from_db()
    assert in_review.status == "rejected"
    review = Review.objects.get()
    assert (review.decision, review.comment) == ("reject", "Wrong citation.")
    assert APPROVE not in _page(client, in_review)


def test_reject_without_a_comment_is_refused(client, in_review, counsel):
    """Reject with an empty comment is refused with the service's message; nothing is recorded."""
    client.force_login(counsel)
    response = _post(
        client, "version-reject", in_review, expected_hash=in_review.content_hash, role="legal", comment="  "
    )
    # The page again (400): the summary links to the comment box, the message is at it, the box is marked.
    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    summary = page[page.index('id="error-summary-reject-legal"') :]
    assert (
        '<a class="usa-link" href="#reject-comment-legal">Why you reject it (required): '
        "A rejection needs a comment saying why.</a>"
    ) in summary
    assert '<span class="usa-error-message" id="reject-comment-legal_error">A rejection needs a comment' in page
    box = page[page.index('<textarea name="comment"', page.index("reject-comment-legal_error")) :].split(">")[0]
    assert 'aria-invalid="true"' in box and "reject-comment-legal_error" in box
    assert 'id="error-summary-approve-legal"' not in page
    in_review.refresh_from_db()
    assert in_review.status == "in_review"
    assert not Review.objects.exists()


def test_stale_hash_asks_to_reload_and_records_no_review(client, in_review, counsel):
    """An Approve for content the page no longer shows is refused with a reload message; no review is recorded."""
    client.force_login(counsel)
    response = _post(client, "version-approve", in_review, expected_hash="0" * 64, role="legal")
    page = html.unescape(response.content.decode())
    assert "Reload the rule and review what is there now." in page
    assert "usa-alert--warning" in page
    assert not Review.objects.exists()
    in_review.refresh_from_db()
    assert in_review.status == "in_review"
    event = AuditEvent.objects.order_by("-id").first()
    assert (event.action, event.outcome, event.data["code"]) == ("review.approve", "refused", "stale_hash")


def test_approving_a_version_no_longer_in_review_is_a_message_not_an_error_page(client, on_staging, counsel):
    """A late click (the review already ended) gets the service's refusal as a message on the rule page."""
    client.force_login(counsel)
    response = _post(client, "version-approve", on_staging, expected_hash=on_staging.content_hash, role="legal")
    assert response.status_code == 200
    assert "not in review" in html.unescape(response.content.decode())
    assert Review.objects.count() == 2
