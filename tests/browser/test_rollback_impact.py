"""Before a rollback, in the browser: the dialog says how many decisions since go-live the move would change.

Two versions of a rule reach production through `hms`; a payment system's decisions are asked over the
API under v2. The release manager opens the rollback dialog by keyboard, reads the sentence (decisions
made under v2 since it went live, how many v1 would answer differently) and downloads the affected
accounts as CSV.
"""

import csv
import io
import json
import re
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from .steps import release_versions, wait_until_open

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser-portal")]

SLUG = "browser-rollback-impact"
AGES = [40, 12, 40]  # two paid (1,800 under v2, 1,700 under v1), one minor paid by neither


def _post(portal, path, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(portal["url"] + path, json.dumps(body).encode(), headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def ask_decisions(portal):
    """The release manager's token asks one decision per age (release managers may ask for decisions)."""
    token = _post(portal, "/api/v1/auth/token/", {"username": "admin", "password": portal["password"]})["token"]
    for n, age in enumerate(AGES):
        citizen = {"age": age, "in_fire_zone": True, "home_damaged": True}
        body = {"account_id": f"household-{n}", "citizen": citizen, "date": "2025-01-15"}
        answer = _post(portal, "/api/v1/decisions", body, token)
        assert [d["version"] for d in answer["decisions"] if d["rule"] == SLUG] == [2], answer


def test_the_rollback_dialog_says_which_decisions_would_change(people, portal, tmp_path):
    """Production v2 → v1: "3 decisions were made under v2 …; 2 of them would differ under v1", and the CSV."""
    release_versions(portal, tmp_path, SLUG, (1700, 1800))
    ask_decisions(portal)
    time.sleep(2)  # the serving processes write their decisions every 0.5 s (PDP_DECISION_LOG_FLUSH_SECONDS)

    admin = people("admin")
    page = admin.page
    admin.goto(f"/rules/{SLUG}/")
    form = page.locator("form").filter(has=page.get_by_label("Reason"))
    form.get_by_label("Reason").fill("Congress requested pause")
    form.get_by_role("button", name="Roll back", exact=True).focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=re.compile(r"^Roll back"))
    expect(dialog.get_by_role("button", name="Roll back", exact=True)).to_be_visible()
    wait_until_open(page)
    expect(dialog).to_contain_text("Production: v2 → v1.")
    sentence = dialog.locator("#rollback-impact-text")
    expect(sentence).to_contain_text(
        re.compile(r"^3 decisions were made under v2 since it went live on \d{4}-\d\d-\d\d")
    )
    expect(sentence).to_contain_text(
        "2 of them would differ under v1 (0 newly eligible, 0 no longer eligible, 2 amount changes)."
    )
    admin.check()

    with page.expect_download() as download_info:
        dialog.get_by_role("link", name="Download the affected accounts (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == f"{SLUG}-production-v2-to-v1-affected.csv"
    rows = list(csv.DictReader(io.StringIO(download.path().read_text())))
    assert [(r["account"], r["amount_before"], r["amount_after"]) for r in rows] == [
        ("household-0", "1800.0", "1700.0"),
        ("household-2", "1800.0", "1700.0"),
    ]

    # Nothing was rolled back: the dialog closes with Escape and production still serves v2.
    page.keyboard.press("Escape")
    expect(dialog.get_by_role("button", name="Roll back", exact=True)).to_be_hidden()
    page.reload()
    admin.check()
    expect(page.locator(".pdp-facts").first).to_contain_text(re.compile(r"Production[^)]*\)?\s*v2 live since"))
