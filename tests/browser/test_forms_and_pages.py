"""Forms and pages to the USWDS standard, in Chromium against the live portal and worker.

The fund, dataset and upload forms name every problem at once: an error summary at the top,
which takes the focus and whose links put the focus in their field, and the message at each
field, whose control carries aria-invalid. The upload points at a trailing comma and keeps a
refused file. Messages are USWDS alerts with their icon and no emoji; a moment ago reads "just
now"; the audit filters are lists; the audit and findings tables fit a 1280 px window. Every page
visited passes the axe-core check.
"""

import json
import re

import pytest
from playwright.sync_api import expect

from .conftest import rule_document
from .steps import alert, display_name, log_in_to_hms, read_table, run_hms, sideways_overflow

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-portal")]

# Pictographs, dingbats, arrows with emoji forms and the variation selector that makes them emoji.
EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2190-\u21ff\u2b00-\u2bff\ufe0f]")
UPLOADED = "browser-forms"
TRAILING_COMMA = json.dumps(rule_document(UPLOADED, amount=2500), indent=2)[:-2] + ",\n}"
BAD_ROWS = b"id,age,weight\n1,34,2\n2,x,-1\n2,40,\n4,41,many\n"
RELEASED = "browser-wide-tables"
REASON = (
    "Congress requested a pause while the appropriations committee reviews the eligibility of households "
    "outside the declared fire perimeter and how the payment interacts with FEMA individual assistance"
)


def go(person, link):
    """Follow `link` in the primary navigation, and check the page."""
    page = person.page
    page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name=link, exact=True).click()
    page.wait_for_load_state("load")
    person.check()
    return page


def submit(person, button, *, refused=True):
    """Press `button` and check the page that answers: the form again with its problems (400), or the next page."""
    page = person.page
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state("load")
    person.check(status=400 if refused else None)
    if refused:
        assert person.status[0] == 400, person.status
    return page


def summary_links_focus_their_fields(page, fields):
    """The error summary has the focus; each of its links, followed, puts the focus in its field, marked invalid."""
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    links = summary.get_by_role("link")
    expect(links).to_have_count(len(fields))
    for number, (label, said) in enumerate(fields):
        link = links.nth(number)
        expect(link).to_contain_text(said)
        link.click()
        target = link.get_attribute("href")
        expect(page.locator(f'label[for="{target[1:]}"]')).to_have_text(label)
        field = page.locator(target)
        expect(field).to_be_focused()
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_accessible_description(re.compile(re.escape(said)))
    return summary


def test_the_fund_form_says_both_problems_at_once(people):
    """A bad code and a bad fiscal year: both in the summary and at their fields, in one answer."""
    officer = people("BudgetOffice")
    page = go(officer, "Funds")
    page.get_by_label("Code", exact=True).fill("bad code")
    page.get_by_label("Appropriation (dollars)", exact=True).fill("5")
    page.get_by_label("Fiscal year", exact=True).fill("FY25")
    submit(officer, "Create fund")
    summary = summary_links_focus_their_fields(
        page,
        [("Code", "The fund code must be upper-case letters"), ("Fiscal year", "The fiscal year must be a year")],
    )
    expect(summary.get_by_role("heading")).to_have_text("The fund was not created")
    expect(page.get_by_label("Appropriation (dollars)", exact=True)).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Code", exact=True)).to_have_value("bad code")


def test_a_dataset_upload_lists_each_problem_with_its_line_and_column(people):
    """A file with five problems: each in a table at the file field, by line and column; nothing stored."""
    officer = people("BudgetOffice")
    page = go(officer, "Datasets")
    # USWDS names its file input by the words on it ("Drag file here or choose from folder").
    page.locator('input[type="file"][name="file"]').set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": BAD_ROWS}]
    )
    page.get_by_label("Name", exact=True).fill("Five problems")
    submit(officer, "Upload")
    summary_links_focus_their_fields(page, [("Population file (CSV or Parquet)", "The file has 5 problems")])
    table = page.get_by_role("table", name=re.compile("problems, in the order of the file"))
    rows = read_table(table)
    assert [(row["Where"], row["Column"]) for row in rows] == [
        ("Line 3", "age"), ("Line 3", "weight"), ("Line 4", "id"), ("Line 4", "weight"), ("Line 5", "weight"),
    ], rows  # fmt: skip
    assert "negative" in rows[1]["Problem"], rows
    expect(page.get_by_role("table", name=re.compile("Every stored population"))).not_to_contain_text("Five problems")


def test_the_upload_points_at_a_trailing_comma_and_keeps_a_refused_file(people):
    """A trailing comma is marked at the comma, its place said once; a refused file comes back in the box."""
    drafter = people("drafter")
    page = go(drafter, "Upload")
    box = page.get_by_label("Or paste the JSON", exact=True)
    box.fill(TRAILING_COMMA)
    submit(drafter, "Upload")
    lines = TRAILING_COMMA.split("\n")
    line, column = len(lines) - 1, len(lines[-2])  # the comma ends the line before the closing brace
    place = f"line {line}, column {column}"
    summary_links_focus_their_fields(page, [("Or paste the JSON", f"a trailing comma at {place}")])
    excerpt = page.locator(".pdp-excerpt")
    expect(excerpt.locator(".pdp-excerpt__at")).to_have_text(",")
    expect(excerpt.locator("mark")).to_have_text(lines[-2])
    # The place is said once at the field (the summary repeats the message as its link).
    outside_summary = page.evaluate(
        """() => { const main = document.querySelector("main").cloneNode(true);
                   main.querySelector("[data-error-summary]").remove(); return main.innerText.toLowerCase(); }"""
    )
    assert outside_summary.count(place) == 1, outside_summary

    # The same document as a file: refused, its text comes back in the box, the file named.
    box.fill("")
    page.locator('input[type="file"][name="file"]').set_input_files(
        files=[{"name": "wildfire.json", "mimeType": "application/json", "buffer": TRAILING_COMMA.encode()}]
    )
    submit(drafter, "Upload")
    box = page.get_by_label("Or paste the JSON", exact=True)
    expect(box).to_have_value(TRAILING_COMMA)
    expect(box).to_have_accessible_description(re.compile("The text of wildfire.json, as you chose it"))
    summary_links_focus_their_fields(page, [("Or paste the JSON", f"a trailing comma at {place}")])

    # Corrected in the box: stored, and the confirmation is a USWDS success alert in words, with its icon.
    # The rule page reloads itself once the checks finish, and the message is shown once: hold its
    # checks section still (an empty answer to each refresh) while the message is read.
    page.route(re.compile(r"/checks/"), lambda route: route.fulfill(status=204))
    box.fill(json.dumps(rule_document(UPLOADED, amount=2500), indent=2))
    submit(drafter, "Upload", refused=False)
    done = alert(page, f"Uploaded {display_name(UPLOADED)} (v1)")
    expect(done).to_be_visible()
    expect(done).to_have_class(re.compile(r"\busa-alert--success\b"))
    assert not EMOJI.search(done.inner_text()), done.inner_text()
    icon = done.locator(".usa-alert__body").evaluate(
        """body => { const style = getComputedStyle(body, "::before");
                     return {mask: style.maskImage || style.webkitMaskImage, width: style.width, display: style.display}; }"""
    )
    assert "usa-icons/check_circle.svg" in icon["mask"] and icon["display"] != "none", icon
    svg = page.request.get(re.search(r'url\("?([^")]+check_circle\.svg)', icon["mask"]).group(1))
    assert svg.ok and "svg" in svg.headers["content-type"], (svg.status, svg.headers)
    page.unroute(re.compile(r"/checks/"))

    # A moment later, the drafter's home says when in words: "just now", not "0 minutes ago".
    drafter.goto("/")
    mine = page.get_by_role("region", name=re.compile(r"^Your versions", re.I))
    row = mine.get_by_role("row").filter(has=page.get_by_role("link", name=f"{display_name(UPLOADED)} v1"))
    expect(row).to_contain_text("just now")
    expect(page.locator("main")).not_to_contain_text("0 minutes")


@pytest.fixture(scope="module")
def released_and_rolled_back(portal, tmp_path_factory):
    """A rule pushed with findings, signed off, deployed and rolled back with a long reason, through hms.

    Staging serves v1, production nothing (v0). The tests reading it change nothing.
    """
    tmp_path = tmp_path_factory.mktemp("released")
    log_in_to_hms(portal, "drafter", "LegalTeam", "BudgetOffice", "admin")
    path = tmp_path / "rule.json"
    # No eligibility logic: a warning whose long message the findings table must fit.
    path.write_text(json.dumps({"rule": RELEASED, "max_payment": 5000, "cost": 9.8e7}))
    run_hms(portal, "rule", "push", str(path), "--user", "drafter")
    run_hms(portal, "rule", "review", RELEASED, "--user", "LegalTeam", "--approve")
    run_hms(portal, "rule", "review", RELEASED, "--user", "BudgetOffice", "--approve")
    run_hms(portal, "rule", "deploy", RELEASED, "--env", "prod", "--user", "admin")
    run_hms(portal, "rule", "rollback", RELEASED, "--to", "previous", "--reason", REASON, "--user", "admin")
    return RELEASED


def test_the_audit_filters_are_lists_and_the_tables_fit_at_1280(people, released_and_rolled_back):
    """Rule and Person are picked from lists; the events and findings need no sideways scroll; the reason shows."""
    admin = people("admin")
    page = go(admin, "Audit")
    assert page.viewport_size["width"] == 1280
    table = page.get_by_role("table", name=re.compile("events", re.I))
    assert sideways_overflow(table) <= 0

    rule, person = page.get_by_label("Rule", exact=True), page.get_by_label("Person", exact=True)
    assert rule.evaluate("el => el.tagName") == person.evaluate("el => el.tagName") == "SELECT"
    expect(rule.locator("option", has_text=released_and_rolled_back)).to_have_count(1)
    expect(person.locator("option")).to_contain_text(["Anyone", "admin", "BudgetOffice", "drafter", "LegalTeam"])
    rule.select_option(released_and_rolled_back)
    person.select_option("admin")
    submit(admin, "Apply filters", refused=False)
    expect(page.get_by_label("Rule", exact=True)).to_have_value(released_and_rolled_back)

    table = page.get_by_role("table", name=re.compile("events", re.I))
    rows = read_table(table)
    assert [row["Action"] for row in rows] == ["release.rollback", "release.promote"], rows
    assert sideways_overflow(table) <= 0
    reason = table.get_by_role("row").filter(has_text="release.rollback").get_by_role("cell").filter(has_text=REASON)
    reason.scroll_into_view_if_needed()
    expect(reason).to_be_in_viewport(ratio=1)  # the whole of it, not cut at the right edge

    admin.goto(f"/rules/{released_and_rolled_back}/")
    findings = page.get_by_role("table", name=re.compile("findings", re.I))
    expect(findings.filter(has_text="DECLARED_COST_ONLY")).to_have_count(1)
    for number in range(findings.count()):
        assert sideways_overflow(findings.nth(number)) <= 0

    # The rule page's reviews, deployment history and audit timeline fit too, the reason whole.
    for caption in ("Sign-offs and rejections", "move of a live pointer", "recorded actions"):
        table = page.get_by_role("table", name=re.compile(caption, re.I))
        assert sideways_overflow(table) <= 0, caption
    history = page.get_by_role("table", name=re.compile("move of a live pointer", re.I))
    reason = history.get_by_role("cell").filter(has_text=REASON)
    reason.scroll_into_view_if_needed()
    expect(reason).to_be_in_viewport(ratio=1)


def test_a_rollback_with_a_blank_reason_is_the_form_again_and_the_board_says_less_than_a_minute(
    people, released_and_rolled_back
):
    """Spaces pass the browser's check but not the server's: the rule page again (400), said at the reason."""
    admin = people("admin")
    page = admin.page
    admin.goto(f"/rules/{released_and_rolled_back}/")
    form = page.locator("#rollback-form")
    environment = form.get_by_label("Environment", exact=True)
    expect(environment).to_have_value("staging")  # production serves nothing: it cannot be chosen
    expect(environment.locator("option[value=production]")).to_be_disabled()
    form.get_by_label("Go back to").select_option("v0")
    form.get_by_label("Reason").fill("   ")
    form.get_by_role("button", name="Roll back", exact=True).click()
    dialog = page.get_by_role("dialog", name=re.compile("^Roll back"))
    expect(dialog).to_contain_text("Staging: v1 → v0 (withdrawn).")
    with page.expect_navigation():
        dialog.get_by_role("button", name="Roll back", exact=True).click()
    page.wait_for_load_state("load")
    admin.check(status=400)
    summary = page.locator("[data-error-summary]")
    expect(summary).to_contain_text("Nothing was rolled back")
    summary_links_focus_their_fields(page, [("Reason", "A rollback needs a reason.")])
    # What was chosen is kept, and nothing moved: staging still serves v1.
    expect(page.locator("#rollback-to")).to_have_value("v0")
    expect(page.locator("#release-sync")).to_contain_text("staging serves v1")

    page = go(admin, "Environments")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=display_name(released_and_rolled_back)))
    # Live since the fixture deployed it: under a minute reads so, never "0 minutes".
    expect(row).to_contain_text(re.compile(r"v1\s*for (less than a minute|\d+\xa0minutes?)"))
    expect(page.locator("main")).not_to_contain_text(re.compile(r"\b0\s+minutes"))
