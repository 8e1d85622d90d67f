"""The whole journey in the browser, as the four people who share it, in order.

1. the drafter uploads a rule and watches lint and simulation finish; 2. counsel approves it,
by keyboard; 3. the budget officer reads the cost chart and approves, which puts it on staging;
4. the release manager promotes it to production and rolls it back; 5. the audit page shows
each of those steps. Each step needs the one before it; a step whose predecessor did not finish
fails saying so. Every page visited passes the axe-core check.
"""

import re

import pytest
from playwright.sync_api import expect

from .conftest import rule_document
from .steps import (
    alert,
    audit_rows,
    display_name,
    open_from_queue,
    read_table,
    upload_and_watch,
    version_heading,
    wait_until_open,
)

# One live portal serves this folder: under pytest-xdist its tests run on one worker.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-portal")]

SLUG = "browser-journey"
NAME = display_name(SLUG)
REASON = "Congress requested pause"


@pytest.fixture(scope="module")
def journey():
    """What the steps hand on: the last step finished, and the rule page's address."""
    return {"done": 0}


def after(journey, step):
    if journey["done"] != step - 1:
        pytest.fail(f"step {step - 1} of the journey did not finish, and step {step} starts where it ends")


def test_1_drafter_uploads_and_watches_the_checks_finish(people, journey):
    """The drafter uploads from the Upload page; the rule page shows lint and simulation live until both pass."""
    after(journey, 1)
    drafter = people("drafter")
    page = drafter.page

    # By keyboard: the first Tab reaches the skip link, which moves focus to the page's content.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    journey["url"] = upload_and_watch(drafter, rule_document(SLUG, amount=4000))

    drafter.goto("/")
    mine = page.get_by_role("region", name=re.compile(r"^Your versions", re.I))
    row = mine.get_by_role("row").filter(has=page.get_by_role("link", name=f"{NAME} v1"))
    expect(row).to_contain_text(re.compile("in review", re.I))
    journey["done"] = 1


def test_2_counsel_approves_by_keyboard(people, journey):
    """Legal counsel finds the version in their queue and approves it by Tab and Enter alone."""
    after(journey, 2)
    counsel = people("LegalTeam")
    page = open_from_queue(counsel, "Waiting for Legal review", re.compile(rf"{NAME} v1", re.I))
    expect(version_heading(page, SLUG, 1, "in review")).to_be_visible()

    comment = page.get_by_label("Comment (optional)")
    comment.focus()
    page.keyboard.type("Authority and citations checked.")
    page.keyboard.press("Tab")
    approve = page.get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_focused()
    page.keyboard.press("Enter")

    expect(alert(page, "Legal sign-off recorded")).to_be_visible()
    counsel.check()
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    expect(page.get_by_role("listitem").filter(has_text=re.compile(r"^\s*Legal: approved", re.I))).to_be_visible()
    journey["done"] = 2


def test_3_budget_officer_reads_the_cost_chart_and_approves(people, journey):
    """The budget officer reads the cost-by-county chart and its table, approves, and the rule reaches staging."""
    after(journey, 3)
    officer = people("BudgetOffice")
    page = open_from_queue(officer, "Waiting for Budget review", re.compile(rf"{NAME} v1", re.I))

    canvas = page.locator("#chart-cost-by-county")
    canvas.scroll_into_view_if_needed()
    expect(canvas).to_be_visible()
    page.wait_for_function(
        "id => { const c = document.getElementById(id); return !!(c && window.Chart && window.Chart.getChart(c)); }",
        arg="chart-cost-by-county",
    )
    drawn = page.evaluate(
        """id => {
          const chart = Chart.getChart(document.getElementById(id));
          return {labels: chart.data.labels.map(String), values: chart.data.datasets[0].data.length};
        }""",
        "chart-cost-by-county",
    )
    assert drawn["labels"] and drawn["values"], drawn

    rows = read_table(canvas.locator("xpath=following::table[1]"))
    assert rows, "the cost chart has no table of its figures"
    headers = {next(iter(row.values())) for row in rows}
    assert headers & set(drawn["labels"]), (drawn["labels"], rows)
    costs = [value for row in rows for value in row.values() if re.fullmatch(r"\$[\d,]+(\.\d\d)?", value)]
    assert costs and any(float(c[1:].replace(",", "")) > 0 for c in costs), rows
    officer.check()

    page.get_by_role("button", name="Approve", exact=True).click()
    expect(alert(page, "Budget sign-off recorded")).to_be_visible()
    expect(alert(page, "All required reviews received")).to_be_visible()
    expect(alert(page, "Promoted to STAGING")).to_be_visible()
    officer.check()
    expect(version_heading(page, SLUG, 1, "live on staging")).to_be_visible()  # where it is live, first
    journey["done"] = 3


def test_4_release_manager_promotes_and_rolls_back(people, journey):
    """The release manager sees the rule waiting, promotes it to production and rolls production back to v0."""
    after(journey, 4)
    admin = people("admin")
    page = admin.page
    waiting = page.get_by_role("region", name=re.compile(r"^Waiting for production", re.I))
    expect(waiting.get_by_role("link", name=NAME)).to_be_visible()

    page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name="Environments").click()
    page.wait_for_url("**/environments/**")
    admin.check()
    board_row = page.get_by_role("row").filter(has=page.get_by_role("link", name=NAME, exact=True))
    expect(board_row).to_contain_text("v1")
    expect(board_row).to_contain_text("v0")
    board_row.get_by_role("link", name=NAME, exact=True).click()
    page.wait_for_url(re.compile(rf"/rules/{SLUG}/"))
    admin.check()

    # The confirmation window (USWDS draws its content in a child of the zero-sized dialog element).
    page.get_by_role("button", name="Promote to production", exact=True).click()
    dialog = page.get_by_role("dialog", name=re.compile(rf"Promote {NAME}", re.I))
    confirm = dialog.get_by_role("button", name="Promote to production", exact=True)
    expect(confirm).to_be_visible()
    wait_until_open(page)
    admin.check()
    confirm.click()
    expect(alert(page, re.compile(r"now LIVE in production \(v1\), in \d+\.\d+s"))).to_be_visible()
    admin.check()

    form = page.locator("form").filter(has=page.get_by_label("Reason"))
    form.get_by_label("Environment", exact=True).select_option("production")
    expect(form.get_by_label("Go back to")).to_have_value("previous")
    form.get_by_label("Reason").fill(REASON)
    form.get_by_role("button", name="Roll back", exact=True).click()
    confirm = page.get_by_role("dialog").get_by_role("button", name="Roll back", exact=True)
    expect(confirm).to_be_visible()
    wait_until_open(page)
    expect(page.get_by_role("dialog")).to_contain_text(REASON)
    confirm.click()
    expect(alert(page, re.compile(r"reverted from v1 to v0 in \d+\.\d+s"))).to_be_visible()
    admin.check()

    history = read_table(page.get_by_role("table", name=re.compile("pointer", re.I)))
    moves = [(row.get("Environment"), row.get("Move"), row.get("From"), row.get("To")) for row in history]
    assert ("production", "rollback", "v1", "v0") in moves, moves
    assert ("production", "promote", "v0", "v1") in moves, moves
    journey["done"] = 4


def test_5_audit_page_shows_each_step(people, journey):
    """The audit page, filtered by the rule, lists every step of the journey with who took it; the chain verifies."""
    after(journey, 5)
    admin = people("admin")
    rows = audit_rows(admin, SLUG)
    seen = {(row.get("Person"), row.get("Action"), row.get("Outcome", "").lower()) for row in rows}
    for person, action in [
        ("drafter", "rule.push"),
        ("system", "check.lint"),
        ("system", "check.simulation"),
        ("LegalTeam", "review.approve"),
        ("BudgetOffice", "review.approve"),
        # The last sign-off puts it on staging: the system does, on the budget officer's behalf.
        ("system, after BudgetOffice's sign-off", "release.promote"),
        ("admin", "release.promote"),
        ("admin", "release.rollback"),
    ]:
        assert any(p == person and a == action and "refused" not in o for p, a, o in seen), (person, action, seen)
    rollback = next(row for row in rows if row.get("Action") == "release.rollback")
    assert REASON in rollback.get("Details", ""), rollback

    page = admin.page
    page.get_by_role("button", name="Verify chain").click()
    expect(alert(page, "Chain verified")).to_be_visible()
    admin.check()
