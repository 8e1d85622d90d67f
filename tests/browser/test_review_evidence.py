"""What a reviewer and a drafter read on the way to a decision, in Chromium against the live portal.

A version that failed its checks says why first, and what to do next, with no sign-off "not yet".
Then one rule goes round the loop, its versions pushed and released through `hms` where the
move is not what is shown: counsel comments on v1 without deciding, then rejects it, and the
sign-offs say who, when and why; the header's count of what waits for counsel goes up with each
version in review and down with each decision. v2's page tells counsel what changed since the
version they rejected and links to its review; its evidence (what changed, the rule, the
findings, the cost) comes before the decision, which the sticky "Go to your decision" link
reaches by keyboard. The funds page follows the rule's cost from review to staging to
production; each version is labelled where it is live, and "superseded" only once it serves
nowhere; the compare page sets two versions' documents and figures side by side. Every page
passes the axe-core check.
"""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from .conftest import CHECKS_TIMEOUT_MS, rule_document
from .steps import alert, display_name, log_in_to_hms, open_from_queue, read_table, run_hms, version_heading

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-portal")]

SLUG = "browser-evidence"
NAME = display_name(SLUG)
OVER = "browser-evidence-over"
FUND = "EVIDENCE-FY2025"
APPROPRIATION = 500_000_000
QUESTION = "Which section of the act sets the amount?"
REASON = "The amount is not the one the act sets."
# The funds table's pipeline columns, by the stage each one shows.
STAGES = {"committed": "Committed (live in production)", "staging": "On staging", "review": "In review"}
NOTHING = {"committed": "$0.00", "staging": "$0.00", "review": "$0.00"}


def evidence_document(amount, *, minimum_age):
    """The wildfire example as this file's rule, drawing on its own fund, paying `amount` from `minimum_age`."""
    document = rule_document(SLUG, amount=amount)
    document["fund"] = FUND
    document["eligibility"]["and"][0] = {">=": [{"var": "age"}, minimum_age]}
    return document


def push(portal, tmp_path, document):
    """The drafter pushes the document with hms, which waits until lint and simulation put it in review."""
    path = tmp_path / f"{document['rule']}-{document['amount']}.json"
    path.write_text(json.dumps(document))
    run_hms(portal, "rule", "push", str(path), "--user", "drafter")


def number(text):
    """`$1,234.50`, `+$1,234.50`, `−$300.00` or `20,431` as a number."""
    return float(re.sub(r"[^\d.]", "", text)) * (-1 if text.startswith(("−", "-")) else 1)


def simulation_figures(page):
    """The selected version's simulation figures, by label (the table has a header cell and a value per row)."""
    rows = read_table(page.get_by_role("table", name="Simulation figures", exact=True))
    return {row["0"]: row["1"] for row in rows}


def fund_row(officer):
    """The funds page's row of this file's fund, keyed by the column headers."""
    officer.goto("/funds/")
    rows = read_table(officer.page.get_by_role("table", name=re.compile(r"appropriation against the pipeline")))
    (row,) = [row for row in rows if row.get("Code") == FUND]
    return row


def pipeline(officer):
    """What the fund's pipeline columns read: {"committed": "$…", "staging": "$…", "review": "$…"}."""
    row = fund_row(officer)
    return {stage: row[header] for stage, header in STAGES.items()}


def waiting_link(page):
    """The header's link to the person's own work, which carries the count of what waits for them."""
    return page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name=re.compile(r"^Your work"))


def waiting_count(page):
    """How many things the header says wait for this person."""
    text = waiting_link(page).text_content()
    found = re.search(r"(\d+)\s+waiting for you", text)
    return int(found.group(1)) if found else 0


def expect_waiting(page, number):
    """The header says `number` things wait for this person (no badge at all for none)."""
    link = waiting_link(page)
    if number:
        expect(link).to_have_accessible_name(re.compile(rf"^Your work\s+{number} waiting for you$"))
        expect(link.locator(".pdp-waiting")).to_have_text(re.compile(rf"^{number}\b"))
    else:
        expect(link.locator(".pdp-waiting")).to_have_count(0)


def version_rows(page):
    """The rule page's versions table: {version: status}."""
    table = page.get_by_role("table", name=re.compile(r"^Every version of"))
    return {row["Version"]: row["Status"] for row in read_table(table)}


def my_versions(drafter, names):
    """The drafter's home, "Your versions": the status of each of `names` (such as "Browser-Evidence v2")."""
    drafter.goto("/")
    section = drafter.page.get_by_role("region", name=re.compile(r"^Your versions", re.I))
    rows = read_table(section.get_by_role("table"))
    found = {}
    for row in rows:
        for name in names:
            # The cell holds the link and, under it, the rule's title: "Browser-Evidence v2Browser test rule…".
            if re.match(rf"{re.escape(name)}(?!\d)", row["Version"]):
                found[name] = row["Status"]
    return found


def signoff(page, role):
    """The selected version's sign-off line of `role` ("Legal", "Budget")."""
    return signoff_list(page).get_by_role("listitem").filter(has_text=re.compile(rf"^\s*{role}:"))


def signoff_list(page):
    return page.get_by_role("heading", name="Sign-offs", exact=True).locator("xpath=following-sibling::ul[1]")


def tops(locators):
    """The top of each element on the page (from the top of the document), in the order given."""
    return [locator.evaluate("el => el.getBoundingClientRect().top + window.scrollY") for locator in locators]


def change(region, what):
    """The line of "what changed" about `what` (such as "amount" or "minimum age")."""
    return region.get_by_role("listitem").filter(has=region.page.locator("strong", has_text=re.compile(rf"^{what}$")))


def expect_change(region, what, before, after):
    """`what: before → after`, the old words struck out and the new ones highlighted."""
    line = change(region, what)
    expect(line).to_have_count(1)
    text = re.compile(rf"^\s*{re.escape(what)}:\s*(from\s*)?{re.escape(before)}\s*→\s*(to\s*)?{re.escape(after)}\s*$")
    expect(line).to_have_text(text)
    expect(line.locator("del")).to_have_text(before)
    expect(line.locator("ins")).to_have_text(after)
    marked = line.locator("ins").evaluate(
        "el => { const s = getComputedStyle(el); return {background: s.backgroundColor, weight: s.fontWeight}; }"
    )
    assert marked["background"] not in ("rgba(0, 0, 0, 0)", "transparent") and int(marked["weight"]) >= 700, marked
    struck = line.locator("del").evaluate("el => getComputedStyle(el).textDecorationLine")
    assert "line-through" in struck, struck


def recent(time_element):
    """The <time> says a moment in the last ten minutes."""
    when = datetime.fromisoformat(time_element.get_attribute("datetime"))
    assert datetime.now(UTC) - timedelta(minutes=10) <= when <= datetime.now(UTC) + timedelta(minutes=1), when


# ---------------------------------------------------------------------------------------------
# A version that failed its checks


def test_an_over_budget_version_says_why_it_stopped_and_what_to_do_next(people):
    """A declared $2B stops at simulation: the page says OVER_BUDGET and the next step first, and no sign-offs."""
    drafter = people("drafter")
    page = drafter.page
    page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name="Upload", exact=True).click()
    page.wait_for_url("**/rules/upload/")
    drafter.check()
    page.get_by_label("Or paste the JSON").fill(json.dumps({"rule": OVER, "max_payment": 5000, "cost": 2e9}))
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(rf"/rules/{OVER}/\?v=1$"))
    # The page reloads itself when the checks are done.
    expect(version_heading(page, OVER, 1, "simulation failed")).to_be_visible(timeout=CHECKS_TIMEOUT_MS)
    drafter.check()

    failure = page.get_by_role("region", name="Simulation failed: why v1 stopped")
    expect(failure).to_be_visible()
    expect(failure.get_by_role("listitem").filter(has_text="OVER_BUDGET")).to_contain_text("$.cost")
    expect(failure).to_contain_text(
        "What to do next: Lower the amount or narrow who is eligible so the cost fits, or ask the budget office "
        "to raise the limit, then push a new version."
    )
    # Its cause comes first: before what changed, the document and the checks.
    cause, changes, document, checks = tops(
        [failure, page.locator("#changes-heading"), page.locator("#document-heading"), page.locator("#checks-heading")],
    )
    assert cause < changes < document < checks, (cause, changes, document, checks)
    # It never reached review: no sign-off waits for anyone.
    expect(page.get_by_role("heading", name="Sign-offs", exact=True)).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("not yet")
    expect(page.get_by_role("link", name="Go to your decision")).to_have_count(0)

    name = f"{display_name(OVER)} v1"
    assert my_versions(drafter, [name]) == {name: "simulation failed"}


# ---------------------------------------------------------------------------------------------
# One rule round the loop: v1 rejected, v2 and v3 released


@pytest.fixture(scope="module")
def journey(portal):
    """What the steps hand on; the demo accounts logged in to hms."""
    log_in_to_hms(portal, "drafter", "LegalTeam", "BudgetOffice", "admin")
    return {"done": 0}


def after(journey, step):
    if journey["done"] != step - 1:
        pytest.fail(f"step {step - 1} of the loop did not finish, and step {step} starts where it ends")


def test_1_a_comment_leaves_v1_in_review_and_the_rejection_says_who_when_and_why(people, portal, journey, tmp_path):
    """Counsel comments (still in review, still waiting), then rejects: who, when and why; the count goes down."""
    after(journey, 1)
    officer = people("BudgetOffice")
    page = officer.page
    officer.goto("/funds/")
    page.get_by_label("Code", exact=True).fill(FUND)
    page.get_by_label("Name (optional)", exact=True).fill("Browser evidence fund")
    page.get_by_label("Appropriation (dollars)", exact=True).fill(str(APPROPRIATION))
    page.get_by_label("Fiscal year", exact=True).fill("2025")
    page.get_by_role("button", name="Create fund", exact=True).click()
    expect(alert(page, f"Created the fund {FUND}.")).to_be_visible()
    officer.check()
    row = fund_row(officer)
    assert row["Appropriation"] == "$500,000,000.00", row
    assert pipeline(officer) == NOTHING

    counsel = people("LegalTeam")
    page = counsel.page
    waiting = waiting_count(page)
    push(portal, tmp_path, evidence_document(2500, minimum_age=18))
    counsel.goto("/")
    expect_waiting(page, waiting + 1)
    page = open_from_queue(counsel, "Waiting for Legal review", f"{NAME} v1")
    expect(version_heading(page, SLUG, 1, "in review")).to_be_visible()
    cost = simulation_figures(page)["Total cost"]
    assert number(cost) > 0, cost
    journey["v1"] = simulation_figures(page)
    assert pipeline(officer) == NOTHING | {"review": cost}

    # A comment without a decision: shown with its author; the version stays in review, still waiting.
    conversation = page.get_by_role("region", name="Conversation on v1")
    expect(conversation).to_contain_text("No comment or decision on v1 yet.")
    conversation.get_by_label("Comment without deciding").fill(QUESTION)
    conversation.get_by_role("button", name="Post comment", exact=True).click()
    expect(alert(page, re.compile(r"Your comment on .*v1 is posted"))).to_be_visible()
    conversation.scroll_into_view_if_needed()
    counsel.check()
    entry = conversation.get_by_role("listitem").filter(has_text=QUESTION)
    expect(entry).to_have_text(
        re.compile(rf"^\s*LegalTeam commented on \d{{4}}-\d\d-\d\d \d\d:\d\d:\s+{re.escape(QUESTION)}\s*$")
    )
    recent(entry.locator("time"))
    expect(version_heading(page, SLUG, 1, "in review")).to_be_visible()
    expect(signoff(page, "Legal")).to_have_text(re.compile(r"^\s*Legal: not yet\s*$"))
    expect_waiting(page, waiting + 1)

    page.get_by_label("Why you reject it (required)").fill(REASON)
    page.get_by_role("button", name="Reject", exact=True).click()
    expect(alert(page, f"rejected (Legal): {REASON}")).to_be_visible()
    counsel.check()
    expect(version_heading(page, SLUG, 1, "rejected")).to_be_visible()
    # The sign-offs say the rejection: by whom, when, and why; the other sign-off is not needed.
    legal = signoff(page, "Legal")
    expect(legal).to_have_text(
        re.compile(rf"^\s*Legal: rejected by LegalTeam on \d{{4}}-\d\d-\d\d \d\d:\d\d: {re.escape(REASON)}\s*$")
    )
    expect(legal.locator("strong")).to_have_text("LegalTeam")
    recent(legal.locator("time"))
    expect(signoff(page, "Budget")).to_have_text(
        re.compile(r"^\s*Budget: not needed: the review ended with the rejection\s*$")
    )
    expect(signoff_list(page)).not_to_contain_text("not yet")
    expect_waiting(page, waiting)
    assert pipeline(officer) == NOTHING
    journey.update(waiting=waiting, done=1)


def test_2_counsel_reads_the_evidence_on_v2_then_decides(people, portal, journey, tmp_path):
    """v2 says what changed since v1 and links to its review; evidence before the decision, reached by keyboard."""
    after(journey, 2)
    push(portal, tmp_path, evidence_document(3000, minimum_age=21))
    counsel = people("LegalTeam")
    page = counsel.page
    expect_waiting(page, journey["waiting"] + 1)
    page = open_from_queue(counsel, "Waiting for Legal review", f"{NAME} v2")
    expect(version_heading(page, SLUG, 2, "in review")).to_be_visible()
    journey["v2"] = simulation_figures(page)

    # What changed, in plain words, the changed words marked; the raw document is still there.
    changes = page.get_by_role("region", name="What changed since v1, the version before")
    expect_change(changes, "minimum age", "18", "21")
    expect_change(changes, "amount", "$2,500", "$3,000")
    raw = page.locator("details").filter(has=page.get_by_text("The raw document of v2 (JSON)"))
    raw.get_by_text("The raw document of v2 (JSON)").click()
    expect(raw.locator("pre")).to_be_visible()
    expect(raw.locator("pre")).to_contain_text('"amount": 3000')

    # The review of v1, the rejected version before it: its comments and what changed since.
    earlier = page.get_by_role("region", name="The version before, v1, was rejected")
    earlier.scroll_into_view_if_needed()
    counsel.check()
    expect(earlier.get_by_role("link", name="v1", exact=True)).to_have_attribute("href", re.compile(r"\?v=1$"))
    entries = earlier.get_by_role("listitem").filter(has_text="LegalTeam")
    expect(entries).to_have_count(2)
    expect(entries.nth(0)).to_contain_text("LegalTeam commented on")
    expect(entries.nth(0)).to_contain_text(QUESTION)
    expect(entries.nth(1)).to_contain_text("LegalTeam rejected as Legal on")
    expect(entries.nth(1)).to_contain_text(REASON)
    expect_change(earlier, "amount", "$2,500", "$3,000")
    expect(earlier.get_by_role("link", name="Compare v1 and v2 in full")).to_have_attribute(
        "href", re.compile(rf"/rules/{SLUG}/compare/\?from=1&to=2$")
    )

    # The evidence first, in this order, then the decision.
    checks = page.locator("#checks")
    order = {
        "what changed": page.locator("#changes-heading"),
        "the rule in plain words": page.get_by_role("list", name="Eligibility conditions"),
        "lint findings": checks.get_by_role("heading", name=re.compile(r"^\s*Lint\b")),
        "simulation findings": checks.get_by_role("heading", name=re.compile(r"^\s*Simulation\b")),
        "total cost": page.get_by_role("table", name="Simulation figures", exact=True),
        "cost by county": checks.get_by_role("heading", name="Cost by county"),
        "who gains or loses": checks.get_by_role("heading", name="Gainers and losers against the live version"),
        "the decision": page.get_by_role("heading", name="Your decision on v2"),
    }
    found = dict(zip(order, tops(order.values()), strict=True))
    assert list(found) == sorted(found, key=found.get), found

    # The decision link stays in view while the evidence is read, and takes the keyboard to the decision.
    go = page.get_by_role("link", name="Go to your decision")
    page.locator("#checks-heading").evaluate("el => el.scrollIntoView({block: 'start'})")
    expect(go).to_be_in_viewport()
    assert go.bounding_box()["y"] < 60, go.bounding_box()  # held at the top of the window
    target = page.locator(go.get_attribute("href"))
    go.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"#decision-heading$"))
    expect(target).to_be_in_viewport()
    covered = target.evaluate(
        """el => { const box = el.getBoundingClientRect();
                   const hit = document.elementFromPoint(box.left + 10, box.top + box.height / 2);
                   return hit === el || el.contains(hit) ? null : (hit && hit.outerHTML.slice(0, 120)); }"""
    )
    assert covered is None, f"the decision heading is hidden under {covered}"
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_be_in_viewport()
    assert target.evaluate(
        "el => !!(el.compareDocumentPosition(document.activeElement) & Node.DOCUMENT_POSITION_FOLLOWING)"
    ), "Tab after the link did not go on from the decision"
    assert focused.evaluate("el => ['TEXTAREA', 'INPUT', 'BUTTON', 'SELECT'].includes(el.tagName)")

    page.get_by_role("button", name="Approve", exact=True).click()
    expect(alert(page, "Legal sign-off recorded")).to_be_visible()
    counsel.check()
    expect_waiting(page, journey["waiting"])
    journey["done"] = 2


def test_3_the_funds_and_the_labels_follow_v2_and_v3_to_production(people, portal, journey, tmp_path):
    """In review → staging → production on the funds page; each version labelled where it is live."""
    after(journey, 3)
    cost2 = journey["v2"]["Total cost"]
    officer = people("BudgetOffice")
    assert pipeline(officer) == NOTHING | {"review": cost2}
    assert "Promoted to STAGING" in run_hms(portal, "rule", "review", SLUG, "--user", "BudgetOffice", "--approve")
    assert pipeline(officer) == NOTHING | {"staging": cost2}

    drafter = people("drafter")
    drafter.goto(f"/rules/{SLUG}/")
    page = drafter.page
    expect(version_heading(page, SLUG, 2, "live on staging")).to_be_visible()
    assert version_rows(page) == {"v2": "live on staging", "v1": "rejected"}
    names = [f"{NAME} v{n}" for n in (1, 2, 3)]
    assert my_versions(drafter, names) == {names[0]: "rejected", names[1]: "live on staging"}

    assert "now LIVE" in run_hms(portal, "rule", "deploy", SLUG, "--env", "prod", "--user", "admin")
    assert pipeline(officer) == NOTHING | {"committed": cost2}

    # v3 pays more from 18 again: in review, it is on its way to the fund; signed off, it waits on staging.
    push(portal, tmp_path, evidence_document(3500, minimum_age=18))
    drafter.goto(f"/rules/{SLUG}/")
    journey["v3"] = simulation_figures(page)
    cost3 = journey["v3"]["Total cost"]
    # v2 was replaced as the version under work, but still serves: not "superseded".
    assert version_rows(page) == {"v3": "in review", "v2": "live in production and on staging", "v1": "rejected"}
    assert pipeline(officer) == {"committed": cost2, "staging": "$0.00", "review": cost3}
    run_hms(portal, "rule", "review", SLUG, "--user", "LegalTeam", "--approve")
    assert "Promoted to STAGING" in run_hms(portal, "rule", "review", SLUG, "--user", "BudgetOffice", "--approve")
    assert pipeline(officer) == {"committed": cost2, "staging": cost3, "review": "$0.00"}

    drafter.goto(f"/rules/{SLUG}/")
    expect(version_heading(page, SLUG, 3, "live on staging")).to_be_visible()
    assert version_rows(page) == {"v3": "live on staging", "v2": "live in production", "v1": "rejected"}
    # v3 against v2, live in production: in plain words first, and the line diff below.
    changes = page.get_by_role("region", name="What changed since v2, live in production")
    expect_change(changes, "minimum age", "21", "18")
    expect_change(changes, "amount", "$3,000", "$3,500")
    expect(page.locator("#document-diff-heading")).to_have_text("Compared with production")
    diff = page.locator("#document-diff-heading ~ div table.pdp-diff")
    expect(diff).to_have_count(1)
    # The amount, and the amount the embedded test expects: each a changed line, 3000 beside 3500.
    amounts = diff.locator("tr.pdp-diff--changed").filter(has_text='"amount": 3000').filter(has_text='"amount": 3500')
    expect(amounts).to_have_count(2)
    assert changes.evaluate("el => el.getBoundingClientRect().top") < diff.evaluate(
        "el => el.getBoundingClientRect().top"
    )

    drafter.goto(f"/rules/{SLUG}/?v=2")
    expect(version_heading(page, SLUG, 2, "live in production")).to_be_visible()
    assert my_versions(drafter, names) == {
        names[0]: "rejected",
        names[1]: "live in production",
        names[2]: "live on staging",
    }
    journey["done"] = 3


def test_4_the_compare_page_sets_two_versions_side_by_side(people, journey):
    """From the rule page: pick v1 and v3; the plain changes, the figures of each and the line diff."""
    after(journey, 4)
    officer = people("BudgetOffice")
    page = officer.page
    officer.goto(f"/rules/{SLUG}/")
    page.get_by_role("link", name="Compare any two versions").click()
    page.wait_for_url(re.compile(rf"/rules/{SLUG}/compare/"))
    officer.check()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{NAME}: v2 and v3")

    # The versions to pick from, each said where it is live as on the rule page.
    expect(page.get_by_label("From", exact=True).locator("option")).to_have_text(
        ["v3 (live on staging)", "v2 (live in production)", "v1 (rejected)"]
    )
    page.get_by_label("From", exact=True).select_option("1")
    page.get_by_label("To", exact=True).select_option("3")
    page.get_by_role("button", name="Compare", exact=True).click()
    page.wait_for_url(re.compile(r"\?from=1&to=3$"))
    officer.check()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{NAME}: v1 and v3")

    changes = page.get_by_role("region", name="What changed, in plain words")
    expect_change(changes, "amount", "$2,500", "$3,500")

    table = page.get_by_role("table", name=re.compile(r"^Each version’s simulation"))
    rows = {row["Figure"]: row for row in read_table(table)}
    v1, v3 = journey["v1"], journey["v3"]
    for label in ("Total cost", "Eligible rows", "Recipients (weighted)"):
        assert (rows[label]["v1"], rows[label]["v3"]) == (v1[label], v3[label]), (label, rows[label], v1, v3)
    difference = number(rows["Total cost"]["Difference"])
    assert difference == pytest.approx(number(v3["Total cost"]) - number(v1["Total cost"])), rows["Total cost"]
    # Who gains and who loses, each against what production served when the version was simulated:
    # nothing for v1; v2 from 21 for v3, which pays from 18 again.
    assert rows["Newly eligible (people)"]["v1"] == "—", rows
    assert number(rows["Newly eligible (people)"]["v3"]) > 0, rows
    assert rows["No longer eligible (people)"]["v3"] == "0", rows
    assert number(rows["Cost change against production"]["v3"]) > 0, rows
    assert rows["Budget verdict"]["v1"] == rows["Budget verdict"]["v3"] == "within budget", rows

    diff = page.get_by_role("table", name="Changes from v1 to v3")
    amounts = diff.locator("tr.pdp-diff--changed").filter(has_text='"amount": 2500').filter(has_text='"amount": 3500')
    expect(amounts).to_have_count(2)
    journey["done"] = 4


def test_5_once_v3_is_live_everywhere_v2_reads_superseded(people, portal, journey):
    """v3 in production too: v2 serves nowhere and is superseded; the fund carries v3's cost alone."""
    after(journey, 5)
    assert "now LIVE" in run_hms(portal, "rule", "deploy", SLUG, "--env", "prod", "--user", "admin")
    drafter = people("drafter")
    page = drafter.page
    drafter.goto(f"/rules/{SLUG}/")
    expect(version_heading(page, SLUG, 3, "live in production and on staging")).to_be_visible()
    assert version_rows(page) == {"v3": "live in production and on staging", "v2": "superseded", "v1": "rejected"}
    names = [f"{NAME} v{n}" for n in (1, 2, 3)]
    assert my_versions(drafter, names) == {
        names[0]: "rejected",
        names[1]: "superseded",
        names[2]: "live in production and on staging",
    }
    officer = people("BudgetOffice")
    cost3 = journey["v3"]["Total cost"]
    assert pipeline(officer) == NOTHING | {"committed": cost3}
    remainder = fund_row(officer)["Remainder"]
    assert number(remainder) == pytest.approx(APPROPRIATION - number(cost3)), (remainder, cost3)
    journey["done"] = 5
