"""The release loop in the browser: roll back, deploy again, roll back to a named version.

Two versions of a rule reach production through `hms` (push, both sign-offs, deploy), as the
walkthrough does. Then the release manager, in Chromium: rolls production back to the previous
version, reads on the board and the rule page that production is behind staging, deploys the newer
version again from the deployment history with a release note, is stopped before the confirmation
when the rollback would change nothing, and rolls back to a version named in the form. Each
confirmation names the environment and the move; every page and dialog passes the axe-core check.
"""

import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.live_portal import BIN

from .steps import alert, audit_rows, display_name, read_table, release_versions, wait_until_open

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-portal")]

SLUG = "browser-release-loop"
NAME = display_name(SLUG)
PAUSE = "Congress requested pause"
NOTE = "Pause lifted by Congress."
AGAIN = "v2 misstated the deadline"


def hms(portal, *args, stdin=None):
    """Run the hms client against the live portal, as a person at a terminal would; fail on a non-zero exit."""
    result = subprocess.run(
        [str(BIN / "hms"), *args], env=portal["env"], input=stdin, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def release_two_versions(portal, tmp_path):
    """v1 and then v2 pushed, signed off by Legal and Budget, and deployed to production: both live on v2."""
    printed = release_versions(portal, tmp_path, SLUG, (1500, 1600))
    assert all("Promoted to STAGING" in printed[n] for n in (2, 6)), printed
    assert all("now LIVE" in printed[n] for n in (3, 7)), printed


def open_dialog(person, opener, name, confirm):
    """Press the button that opens a confirmation, wait until it is fully shown, check it with axe, return it.

    USWDS draws the window's content in a child of the zero-sized dialog element: the confirm button shows it.
    """
    page = person.page
    opener.click()
    dialog = page.get_by_role("dialog", name=name)
    expect(dialog.get_by_role("button", name=confirm, exact=True)).to_be_visible()
    wait_until_open(page)
    person.check()
    return dialog


def rollback_form(page):
    return page.locator("form").filter(has=page.get_by_label("Reason"))


def history(page):
    rows = read_table(page.get_by_role("table", name=re.compile("pointer", re.I)))
    return [(r.get("Environment"), r.get("Move"), r.get("From"), r.get("To"), r.get("By")) for r in rows], rows


def test_roll_back_deploy_again_and_roll_back_to_a_named_version(people, portal, tmp_path):
    """Production v2 → v1 (rollback), v1 → v2 (deployed again, with a note), v2 → v1 (named): each move said first."""
    release_two_versions(portal, tmp_path)
    admin = people("admin")
    page = admin.page
    admin.goto(f"/rules/{SLUG}/")
    expect(page.locator("#release-sync")).to_contain_text("In sync: staging and production both serve v2.")
    # No Promote button, and one line says why instead.
    expect(page.locator("#promote-why")).to_have_text("Nothing to promote.")
    expect(page.get_by_role("button", name="Promote to production")).to_have_count(0)

    # 1. Roll back: production, which serves something, is chosen already; the window names the move.
    form = rollback_form(page)
    expect(form.get_by_label("Environment", exact=True)).to_have_value("production")
    expect(form.get_by_label("Go back to")).to_have_value("previous")
    form.get_by_label("Reason").fill(PAUSE)
    dialog = open_dialog(
        admin, form.get_by_role("button", name="Roll back", exact=True), re.compile(r"^Roll back"), "Roll back"
    )
    expect(dialog).to_contain_text(f"Production: v2 → v1. Reason: {PAUSE}")
    dialog.get_by_role("button", name="Roll back", exact=True).click()
    expect(alert(page, re.compile(rf"{NAME} on production reverted from v2 to v1 in \d+\.\d+s"))).to_be_visible()
    admin.check()
    expect(page.locator("#release-sync")).to_contain_text(
        "Production serves an older version than staging: v1, where staging serves v2, which production served before."
    )

    # The board says so too, and offers the way back.
    page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name="Environments").click()
    page.wait_for_url("**/environments/**")
    admin.check()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=NAME, exact=True))
    expect(row).to_contain_text("out of sync")
    expect(row.get_by_role("button", name=f"Deploy v2 again {NAME}")).to_be_visible()
    row.get_by_role("link", name=NAME, exact=True).click()
    page.wait_for_url(re.compile(rf"/rules/{SLUG}/"))
    admin.check()

    # 2. Deploy again, from the history's row that first put v2 in production, by keyboard, with a note.
    again = page.get_by_role("button", name="Deploy again v2 to production")
    expect(again).to_have_count(1)
    again.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=f"Deploy {NAME} v2 again to production?")
    expect(dialog.get_by_role("button", name="Deploy again", exact=True)).to_be_visible()
    wait_until_open(page)
    expect(dialog).to_contain_text("Production: v1 → v2 (deployed again).")
    dialog.get_by_label("Release note").fill(NOTE)
    admin.check()
    dialog.get_by_role("button", name="Deploy again", exact=True).click()
    expect(alert(page, re.compile(rf"{NAME} now LIVE in production again \(v2\), in \d+\.\d+s"))).to_be_visible()
    admin.check()
    expect(page.locator("#release-sync")).to_contain_text("In sync: staging and production both serve v2.")
    moves, rows = history(page)
    assert moves[0] == ("production", "redeploy", "v1", "v2", "admin"), moves
    assert rows[0].get("Reason or note") == NOTE, rows[0]
    assert ("staging", "promote", "v1", "v2", "System, after BudgetOffice's sign-off") in moves, moves

    # 3. Roll back to a named version. Naming what production serves is refused before any window opens.
    form = rollback_form(page)
    form.get_by_label("Environment", exact=True).select_option("production")
    form.get_by_label("Go back to").select_option("v2")
    form.get_by_label("Reason").fill(AGAIN)
    form.get_by_role("button", name="Roll back", exact=True).click()
    expect(page.locator(".usa-modal-wrapper.is-visible")).to_have_count(0)
    message = form.get_by_label("Go back to").evaluate("select => select.validationMessage")
    assert message == "Production already serves v2; choose another version.", message
    form.get_by_label("Go back to").select_option("v1")
    dialog = open_dialog(
        admin, form.get_by_role("button", name="Roll back", exact=True), re.compile(r"^Roll back"), "Roll back"
    )
    expect(dialog).to_contain_text(f"Production: v2 → v1. Reason: {AGAIN}")
    dialog.get_by_role("button", name="Roll back", exact=True).click()
    expect(
        alert(page, re.compile(rf"{NAME} on production reverted from v2 to v1 in \d+\.\d+s \({AGAIN}\)"))
    ).to_be_visible()
    admin.check()
    moves, _ = history(page)
    assert moves[:3] == [
        ("production", "rollback", "v2", "v1", "admin"),
        ("production", "redeploy", "v1", "v2", "admin"),
        ("production", "rollback", "v2", "v1", "admin"),
    ], moves

    # The audit history has the three moves, by the release manager, the note and the reasons with them.
    events = audit_rows(admin, SLUG)
    release = [(e.get("Person"), e.get("Action")) for e in events if e.get("Action", "").startswith("release.")]
    assert release[:3] == [("admin", "release.rollback"), ("admin", "release.redeploy"), ("admin", "release.rollback")]
    assert NOTE in next(e.get("Details", "") for e in events if e.get("Action") == "release.redeploy")
