"""Scheduling a promotion in the browser, and cancelling it by keyboard.

A version reaches staging through `hms` (push, both sign-offs). The release manager opens the promote
window on the rule page, chooses a time instead of promoting now, and reads the promotion in the rule
page's "Scheduled promotions" and on the board; then cancels it with the keyboard, through its
confirmation. Every page and window passes the axe-core check.
"""

import json
import re

import pytest
from playwright.sync_api import expect

from .steps import alert, display_name, log_in_to_hms, run_hms, wait_until_open

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-portal")]

SLUG = "browser-schedule"
NAME = display_name(SLUG)
AT = "2031-06-02T09:30"
NOTE = "Goes live with the new fiscal year."


def on_staging(portal, tmp_path):
    from .conftest import rule_document

    log_in_to_hms(portal, "drafter", "LegalTeam", "BudgetOffice")
    path = tmp_path / f"{SLUG}.json"
    path.write_text(json.dumps(rule_document(SLUG, amount=1700)))
    run_hms(portal, "rule", "push", str(path), "--user", "drafter")
    run_hms(portal, "rule", "review", SLUG, "--user", "LegalTeam", "--approve")
    printed = run_hms(portal, "rule", "review", SLUG, "--user", "BudgetOffice", "--approve")
    assert "Promoted to STAGING" in printed, printed


def test_schedule_a_promotion_read_it_and_cancel_it_by_keyboard(people, portal, tmp_path):
    on_staging(portal, tmp_path)
    admin = people("admin")
    page = admin.page
    admin.goto(f"/rules/{SLUG}/")

    page.get_by_role("button", name="Promote to production").click()
    dialog = page.get_by_role("dialog", name=f"Promote {NAME} to production?")
    expect(dialog.get_by_role("button", name="Schedule for that time")).to_be_visible()
    wait_until_open(page)
    admin.check()
    when = dialog.get_by_label(re.compile(r"^Or schedule it for"))
    zone = re.search(r"date and time, ([^)]+)\)", dialog.inner_text()).group(1)
    when.fill(AT)
    dialog.get_by_label("Release note").fill(NOTE)
    dialog.get_by_role("button", name="Schedule for that time").click()

    shown = f"2031-06-02 09:30 {zone}"
    expect(alert(page, f"{NAME} v1 is scheduled for production at {shown}")).to_be_visible()
    admin.check()
    scheduled = page.locator(".pdp-scheduled")
    expect(scheduled).to_contain_text(f"v1 to production at {shown}, scheduled by admin: “{NOTE}”")
    expect(page.locator("#release-sync")).to_contain_text("production serves v0 (nothing)")  # not promoted yet

    # The board lists it on the rule's row.
    page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name="Environments").click()
    page.wait_for_url("**/environments/**")
    admin.check()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=NAME, exact=True))
    expect(row).to_contain_text(f"v1 to production at {shown}")
    row.get_by_role("link", name=NAME, exact=True).click()
    page.wait_for_url(re.compile(rf"/rules/{SLUG}/"))

    # Cancel, by keyboard: the window names the promotion, and the list empties.
    cancel = page.get_by_role("button", name="Cancel the scheduled promotion of v1 to production")
    cancel.focus()
    page.keyboard.press("Enter")
    confirm = page.get_by_role("dialog", name="Cancel this scheduled promotion?")
    expect(confirm.get_by_role("button", name="Cancel the promotion", exact=True)).to_be_visible()
    wait_until_open(page)
    admin.check()
    confirm.get_by_role("button", name="Cancel the promotion", exact=True).focus()
    page.keyboard.press("Enter")
    expect(alert(page, f"The promotion of {NAME} v1 to production at {shown} is cancelled.")).to_be_visible()
    admin.check()
    expect(page.locator(".pdp-scheduled")).to_have_count(0)
    expect(page.get_by_role("button", name="Promote to production")).to_be_visible()
