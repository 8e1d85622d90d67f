"""Approving content other than what the version holds now is refused with a warning to reload; nothing changes."""

import hashlib
import re

import pytest
from playwright.sync_api import expect

from .conftest import rule_document
from .steps import alert, audit_rows, display_name, open_from_queue, upload_and_watch, version_heading

# One live portal serves this folder: under pytest-xdist its tests run on one worker.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-portal")]

SLUG = "browser-stale-hash"
NAME = display_name(SLUG)


def test_approval_of_a_stale_hash_is_refused_until_reloaded(people):
    """A changed expected hash gets a 'Reload' warning and no sign-off; after a reload the approval goes through."""
    drafter = people("drafter")
    upload_and_watch(drafter, rule_document(SLUG, amount=2000))

    counsel = people("LegalTeam")
    page = open_from_queue(counsel, "Waiting for Legal review", re.compile(rf"{NAME} v1", re.I))
    approve_form = page.locator("form").filter(has=page.get_by_role("button", name="Approve", exact=True))
    hidden = approve_form.locator("input[name=expected_hash]")
    seen = hidden.input_value()
    assert re.fullmatch(r"[0-9a-f]{64}", seen), seen
    other = hashlib.sha256(b"what the reviewer saw before it changed").hexdigest()
    assert other != seen
    # As if the version had changed since the page was loaded.
    page.evaluate(
        "([selector, value]) => { document.querySelector(selector).value = value; }",
        ["form input[name=expected_hash]", other],
    )
    assert approve_form.locator("input[name=expected_hash]").input_value() == other

    approve_form.get_by_role("button", name="Approve", exact=True).click()
    warning = page.locator(".usa-alert--warning").filter(has_text="Reload")
    expect(warning).to_be_visible()
    expect(warning).to_have_attribute("role", "alert")
    counsel.check()
    expect(version_heading(page, SLUG, 1, "in review")).to_be_visible()
    expect(page.get_by_role("listitem").filter(has_text=re.compile(r"^\s*Legal: not yet", re.I))).to_be_visible()
    expect(page.get_by_text("No reviews yet.")).to_be_visible()

    # The history is for administrators: read it as one.
    rows = audit_rows(people("admin"), SLUG, Action="review.approve")
    assert [(r.get("Person"), r.get("Outcome", "").lower()) for r in rows] == [("LegalTeam", "refused")], rows
    assert "Reload" in rows[0].get("Details", ""), rows

    # The page as it is now carries the right hash: the approval goes through.
    page.goto(f"/rules/{SLUG}/?v=1")
    counsel.check()
    page.get_by_role("button", name="Approve", exact=True).click()
    expect(alert(page, "Legal sign-off recorded")).to_be_visible()
    counsel.check()
    expect(page.get_by_role("listitem").filter(has_text=re.compile(r"^\s*Legal: approved", re.I))).to_be_visible()
