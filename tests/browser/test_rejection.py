"""Counsel rejects a version with a comment: a missing or blank comment is refused at the box and changes nothing."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import rule_document
from .steps import alert, audit_rows, display_name, open_from_queue, upload_and_watch, version_heading

# One live portal serves this folder: under pytest-xdist its tests run on one worker.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-portal")]

SLUG = "browser-rejection"
NAME = display_name(SLUG)
COMMENT = "The citation names the wrong section of the act."


def test_rejection_needs_a_comment_and_ends_the_review(people):
    """Reject without a comment stays on the form; with one, the version is rejected and the drafter sees why."""
    drafter = people("drafter")
    upload_and_watch(drafter, rule_document(SLUG, amount=3000))

    counsel = people("LegalTeam")
    page = open_from_queue(counsel, "Waiting for Legal review", re.compile(rf"{NAME} v1", re.I))
    reason = page.get_by_label("Why you reject it (required)")
    reject = page.get_by_role("button", name="Reject", exact=True)

    # Empty: the browser keeps the form and says the field is required; nothing is sent.
    url = page.url
    reject.click()
    assert reason.evaluate("field => field.validity.valueMissing")
    assert reason.evaluate("field => field.validationMessage")
    assert page.url == url
    expect(version_heading(page, SLUG, 1, "in review")).to_be_visible()

    # Blank: the server answers the page again (400) with an error summary, which takes the focus and
    # links to the comment box; the message is at the box, marked invalid. Still in review.
    reason.fill("   ")
    with page.expect_navigation():
        reject.click()
    counsel.check(status=400)
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Your rejection was not recorded")
    summary.get_by_role("link", name=re.compile("needs a comment")).click()
    reason = page.get_by_label("Why you reject it (required)")
    expect(reason).to_be_focused()
    expect(reason).to_have_attribute("aria-invalid", "true")
    expect(page.locator(f"#{reason.get_attribute('id')}_error")).to_have_text("A rejection needs a comment saying why.")
    expect(version_heading(page, SLUG, 1, "in review")).to_be_visible()
    expect(page.get_by_text("No reviews yet.")).to_be_visible()

    page.get_by_label("Why you reject it (required)").fill(COMMENT)
    page.get_by_role("button", name="Reject", exact=True).click()
    expect(alert(page, f"rejected (Legal): {COMMENT}")).to_be_visible()
    counsel.check()
    expect(version_heading(page, SLUG, 1, "rejected")).to_be_visible()
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    expect(page.get_by_role("button", name="Reject", exact=True)).to_have_count(0)
    reviews = page.get_by_role("table", name=re.compile("Sign-offs and rejections", re.I))
    expect(reviews.get_by_role("row").filter(has_text=COMMENT)).to_contain_text(re.compile("LegalTeam", re.I))

    drafter.goto("/")
    mine = drafter.page.get_by_role("region", name=re.compile(r"^Your versions", re.I))
    row = mine.get_by_role("row").filter(has=drafter.page.get_by_role("link", name=f"{NAME} v1"))
    expect(row).to_contain_text(re.compile("rejected", re.I))

    # Newest first: the rejection, then the blank attempt, refused and recorded as such.
    # The history is for administrators: read it as one.
    rows = audit_rows(people("admin"), SLUG, Action="review.reject")
    assert [(r.get("Person"), r.get("Outcome", "").lower()) for r in rows] == [
        ("LegalTeam", "done"),
        ("LegalTeam", "refused"),
    ], rows
    assert COMMENT in rows[0].get("Details", ""), rows
    assert "needs a comment" in rows[1].get("Details", ""), rows
