"""Steps several browser tests take, written as a person does them: by labels, roles and visible text."""

import json
import re
import subprocess
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.live_portal import BIN

from .conftest import CHECKS_TIMEOUT_MS

# Reads a table as the person sees it: one object per body row, keyed by the column headers.
_READ_TABLE = """table => {
  const headers = [...table.querySelectorAll("thead th")].map(th => th.textContent.trim());
  return [...table.querySelectorAll("tbody tr")].map(row => {
    const cells = [...row.children].map(cell => cell.textContent.trim().replace(/\\s+/g, " "));
    return Object.fromEntries(cells.map((text, i) => [headers[i] || String(i), text]));
  });
}"""


# How far a table's container scrolls sideways: its scroll width against its visible width.
_OVERFLOW = """table => {
  const box = table.closest(".usa-table-container--scrollable, .usa-table-container") || table.parentElement;
  return {scroll: box.scrollWidth, visible: box.clientWidth};
}"""


def run_hms(portal, *args, stdin=None):
    """Run the hms client against the live portal, as a person at a terminal would; fail on a non-zero exit."""
    result = subprocess.run(
        [str(BIN / "hms"), *args], env=portal["env"], input=stdin, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    return result.stdout


def log_in_to_hms(portal, *users):
    """Log each of `users` in to hms, as `hms login` at a terminal does, once for the portal: hms keeps the token
    in its folder for this portal (and the portal lets a client address ask for only so many tokens a minute)."""
    done = portal.setdefault("hms_users", set())
    for user in users:
        if user not in done:
            run_hms(portal, "login", "--user", user, "--password-stdin", stdin=portal["password"] + "\n")
            done.add(user)


def release_versions(portal, tmp_path, slug, amounts):
    """Push a version of rule `slug` paying each amount in turn; each signed off by Legal and Budget and deployed to
    production, as the walkthrough does with `hms`. Returns what each step printed, in order."""
    from .conftest import rule_document

    log_in_to_hms(portal, "drafter", "LegalTeam", "BudgetOffice", "admin")
    printed = []
    for amount in amounts:
        path = tmp_path / f"{slug}-{amount}.json"
        path.write_text(json.dumps(rule_document(slug, amount=amount)))
        printed.append(run_hms(portal, "rule", "push", str(path), "--user", "drafter"))
        printed.append(run_hms(portal, "rule", "review", slug, "--user", "LegalTeam", "--approve"))
        printed.append(run_hms(portal, "rule", "review", slug, "--user", "BudgetOffice", "--approve"))
        printed.append(run_hms(portal, "rule", "deploy", slug, "--env", "prod", "--user", "admin"))
    return printed


def sideways_overflow(table):
    """How many pixels a person would have to scroll the table's container sideways to read it all (0: none)."""
    measured = table.evaluate(_OVERFLOW)
    return measured["scroll"] - measured["visible"]


def display_name(slug):
    """How the portal names a rule: `browser-journey` → `Browser-Journey`."""
    return re.sub(r"(^|[-_])([a-z])", lambda m: m.group(1) + m.group(2).upper(), slug)


def read_table(table):
    return table.evaluate(_READ_TABLE)


def alert(page, text):
    """The message box saying `text` (a string or a pattern)."""
    return page.locator(".usa-alert").filter(has_text=text)


def version_heading(page, slug, number, status):
    """The selected version's heading, which carries its status tag: `Browser-Journey v1 in review`."""
    return page.get_by_role(
        "heading", name=re.compile(rf"{re.escape(display_name(slug))} v{number}\s+{re.escape(status)}", re.I)
    )


def upload_and_watch(drafter, document):
    """Upload a rule from the Upload page, then watch its checks run live until the page says it is in review."""
    page, slug = drafter.page, document["rule"]
    page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name="Upload", exact=True).click()
    page.wait_for_url("**/rules/upload/")
    drafter.check()

    polls = []
    page.on("request", lambda request: polls.append(request.url) if "/checks/" in request.url else None)
    page.get_by_label("Or paste the JSON").fill(json.dumps(document, indent=2))
    page.get_by_role("button", name="Upload", exact=True).click()
    page.wait_for_url(re.compile(rf"/rules/{re.escape(slug)}/\?v=1$"))
    expect(alert(page, re.compile(rf"Uploaded {re.escape(display_name(slug))}"))).to_be_visible()
    checks = page.locator("#checks")
    expect(checks).to_be_visible()

    # The section refreshes itself every second while lint and simulation run, showing their
    # progress; when both are done the page reloads itself with the version in review.
    expect(version_heading(page, slug, 1, "in review")).to_be_visible(timeout=CHECKS_TIMEOUT_MS)
    assert polls, "the checks section never refreshed itself while the checks ran"
    for title in ("Lint", "Simulation"):
        expect(checks.get_by_role("heading", name=re.compile(rf"^\s*{title}\s+passed\s*$", re.I))).to_be_visible()
    drafter.check()
    return page.url


def wait_until_open(page):
    """Wait until the confirmation window is fully shown: visible, opaque, and no animation still running."""
    page.wait_for_function(
        """() => {
          const wrapper = document.querySelector(".usa-modal-wrapper.is-visible");
          return !!wrapper && getComputedStyle(wrapper).opacity === "1"
            && wrapper.getAnimations({subtree: true}).every(a => a.playState !== "running");
        }"""
    )


def open_from_queue(person, queue, link):
    """On the home page, follow `link` in the table of the section headed `queue`."""
    page = person.page
    if urlsplit(page.url).path != "/":
        person.goto("/")
    section = page.get_by_role("region", name=re.compile(rf"^{re.escape(queue)}\b", re.I))
    expect(section).to_be_visible()
    section.get_by_role("link", name=link).click()
    page.wait_for_load_state("load")
    person.check()
    return page


def audit_rows(person, slug, **filters):
    """The audit page filtered by rule (and `filters` by label), read as rows of the events table."""
    page = person.page
    page.get_by_role("navigation", name="Primary navigation").get_by_role("link", name="Audit", exact=True).click()
    page.wait_for_url("**/audit/**")
    person.check()
    page.get_by_label("Rule", exact=True).select_option(slug)  # a list of the rules in the history
    for label, value in filters.items():
        page.get_by_label(label, exact=True).select_option(value)
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(rf"[?&]rule={re.escape(slug)}"))
    person.check()
    table = page.get_by_role("table", name=re.compile("events", re.I))
    return read_table(table)
