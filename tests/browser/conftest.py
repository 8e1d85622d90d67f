"""Browser tests: Debian's Chromium, driven by Playwright, against a live portal with a real worker.

One portal (web server + Celery worker, as tests/e2e starts it) serves every test in this folder and
stops after them: under pytest-xdist the folder is one unit of work (tests/conftest.py). Each person
has a browser context of their own. The first time a demo account is opened it logs in through the
login form; after that its context starts from that signed-in session (Playwright's storage state)
on the home page, as the form leaves it. Every page a person's tab loads must be checked with
axe-core (`person.check()`); a page loaded but never checked fails the test at teardown.
"""

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect, sync_playwright

from tests.conftest import REQUIRE_SERVICES
from tests.live_portal import log_tail, running_portal
from tests.rule_variants import wildfire_variant

from .axe import assert_accessible

CHROMIUM = os.environ.get("PDP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The machine is shared and small: pages and checks get time.
ACTION_TIMEOUT_MS = 30_000
NAVIGATION_TIMEOUT_MS = 60_000
CHECKS_TIMEOUT_MS = 120_000
expect.set_options(timeout=20_000)


def rule_document(slug, *, amount):
    """The wildfire example as another rule paying `amount`: no duplicate-law finding against the others."""
    return wildfire_variant(slug, amount=amount, title=f"Browser test rule {slug}")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def chromium_executable():
    """Debian's Chromium; skipped without it, unless PDP_REQUIRE_SERVICES=1 says the CI pass must have it."""
    if not Path(CHROMIUM).exists():
        if REQUIRE_SERVICES:
            pytest.fail(f"PDP_REQUIRE_SERVICES=1 but there is no Chromium at {CHROMIUM} (apt-get install chromium).")
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="package")
def chromium(chromium_executable):
    # Package scope, not session: sync Playwright keeps an event loop marked running in this
    # thread until it stops, and Django refuses database calls from the tests after it while it does.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="package")
def portal(chromium_executable, tmp_path_factory):
    """A live portal and worker for this folder's tests, stopped when they are done."""
    with running_portal(tmp_path_factory.mktemp("browser-portal"), name="browser", static=True) as running:
        yield running


# Recorded in every page before its own scripts run: what the Content-Security-Policy refused.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} refused ${event.blockedURI || "inline"}` +
    (event.sourceFile ? ` (${event.sourceFile}:${event.lineNumber})` : ""));
});
"""


class Person:
    """One demo account in a browser context of its own, whose every page load is remembered for the axe check."""

    def __init__(self, username, context):
        self.username = username
        self.context = context
        self.page = context.new_page()
        self.loaded = []  # pages loaded in this tab, in order (URL without fragment)
        self.checked = set()
        self.status = None  # of the last page load: a page must not be an error page
        self.csp_header = None  # of the last page load: every page answers with the portal's policy
        self.page.add_init_script(RECORD_CSP_VIOLATIONS)
        self.page.on("framenavigated", self._navigated)
        self.page.on("response", self._responded)

    def _responded(self, response):
        if response.request.is_navigation_request() and response.frame.parent_frame is None:
            self.status = (response.status, response.url)
            self.csp_header = response.header_value("content-security-policy")

    def _navigated(self, frame):
        if frame.parent_frame is None and frame.url.startswith("http"):
            key = frame.url.split("#", 1)[0]
            if key not in self.loaded:
                self.loaded.append(key)

    def check(self, *, status=None):
        """Fail if the page is an error page or axe-core finds a serious or critical issue on it as it is now.

        `status`: the error status this page is meant to answer, such as 400 for a form shown again
        with its problems.
        """
        self.checked.add(self.page.url.split("#", 1)[0])
        if self.status is not None and self.status[0] >= 400 and self.status[0] != status:
            pytest.fail(f"{self.username} got HTTP {self.status[0]} from {self.status[1]}", pytrace=False)
        assert_accessible(self.page)
        self.assert_no_csp_violation()

    def assert_no_csp_violation(self):
        """Fail when the page came without the Content-Security-Policy, or the browser refused anything under it."""
        url = self.page.url
        if self.csp_header is None or "script-src 'self'" not in self.csp_header:
            pytest.fail(f"{url} came without the portal's Content-Security-Policy: {self.csp_header!r}", pytrace=False)
        refused = self.page.evaluate("window.__cspViolations || []")
        if refused:
            pytest.fail(f"the Content-Security-Policy refused on {url}: {refused}", pytrace=False)

    def goto(self, path):
        self.page.goto(path)
        self.check()

    def unchecked(self):
        return [url for url in self.loaded if url not in self.checked]

    def log_in(self, password):
        """Sign in through the login form, submitted with the Enter key, and land on the home page."""
        page = self.page
        page.goto("/login/")
        self.check()
        page.get_by_label(re.compile(r"^\s*user\s*name\s*$", re.I)).fill(self.username)
        password_field = page.get_by_label(re.compile(r"^\s*password\s*$", re.I))
        password_field.fill(password)
        password_field.press("Enter")
        page.wait_for_url(lambda url: "/login/" not in url)
        self.expect_signed_in()
        self.check()
        return page

    def expect_signed_in(self):
        expect(
            self.page.get_by_role("button", name=re.compile(rf"log out {re.escape(self.username)}", re.I))
        ).to_be_visible()


@pytest.fixture(scope="package")
def signed_in(portal):
    """Each demo account's session once it has logged in through the form: {username: storage state}."""
    return {}


@pytest.fixture
def people(request, chromium, portal, signed_in, tmp_path):
    """`people("LegalTeam")`: that demo account, logged in, in a fresh browser context on the home page."""
    opened = []

    def open_person(username):
        context = chromium.new_context(
            base_url=portal["url"],
            locale="en-US",
            viewport={"width": 1280, "height": 900},
            storage_state=signed_in.get(username),
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        person = Person(username, context)
        opened.append(person)
        if username in signed_in:
            person.goto("/")
            if urlsplit(person.page.url).path == "/":
                person.expect_signed_in()
                return person
            # The session has ended since (a log-out): through the form again.
        person.log_in(portal["password"])
        signed_in[username] = context.storage_state()
        return person

    yield open_person

    failed = any(getattr(getattr(request.node, f"report_{when}", None), "failed", False) for when in ("setup", "call"))
    unchecked = {p.username: p.unchecked() for p in opened if p.unchecked()}
    for person in opened:
        if failed:
            shot = tmp_path / f"{person.username}.png"
            try:
                person.page.screenshot(path=str(shot), full_page=True)
                print(f"{person.username} was on {person.page.url}; screenshot {shot}")
            except PlaywrightError as exc:  # the page may be gone with the failure; the log below still helps
                print(f"{person.username}: no screenshot ({exc})")
        person.context.close()
    if failed:
        print(f"--- portal log ---\n{log_tail(portal)}")
    elif unchecked:
        pytest.fail(f"pages loaded without an axe check: {unchecked}")
