"""The walkthrough of DESIGN.md, typed as a user would, against a live portal and worker."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import DEMO_PASSWORD, ROOT

# One live portal serves this folder (conftest.py): under pytest-xdist its tests run on one worker.
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e-portal")]
HMS = str(Path(sys.executable).parent / "hms")


def hms(portal, *args, stdin=None, check=True):
    result = subprocess.run(
        [HMS, *args], input=stdin, capture_output=True, text=True, env=portal["env"], cwd=ROOT, timeout=300
    )
    if check and result.returncode != 0:
        log = portal["log"].read_text(errors="replace")[-3000:]
        pytest.fail(f"hms {' '.join(args)} exited {result.returncode}: {result.stderr}\n--- portal log ---\n{log}")
    return result


@pytest.fixture(scope="module")
def logged_in(portal):
    for user in ("LegalTeam", "BudgetOffice", "admin", "drafter"):
        hms(portal, "login", "--user", user, "--password-stdin", stdin=DEMO_PASSWORD + "\n")
    return portal


def test_walkthrough(logged_in):
    """Push, two sign-offs, staging, production and rollback print the walkthrough's lines."""
    portal = logged_in
    pushed = hms(portal, "rule", "push", "examples/wildfire-aid-2024.json").stdout
    assert re.search(r"^📤 Uploaded Wildfire-Aid-2024  \(v1\)$", pushed, re.M), pushed
    assert re.search(r"^🔍 Lint \.+ PASSED$", pushed, re.M), pushed
    assert re.search(r"^🧪 Simulation \.+ PASSED \(Cost: \$\d+(\.\d)?M within budget\)$", pushed, re.M), pushed
    assert re.search(r"^⏳ Waiting for peer review \.\.\.", pushed, re.M), pushed

    first = hms(portal, "rule", "review", "wildfire-aid-2024", "--user", "LegalTeam", "--approve").stdout
    assert "Promoted to STAGING" not in first
    second = hms(portal, "rule", "review", "wildfire-aid-2024", "--user", "BudgetOffice", "--approve").stdout
    assert "✅ All required reviews received." in second
    assert "🚀 Promoted to STAGING" in second

    deployed = hms(portal, "rule", "deploy", "wildfire-aid-2024", "--env", "prod", "--user", "admin").stdout
    assert "🎉 Wildfire-Aid-2024 now LIVE (v1)" in deployed

    rolled = hms(
        portal, "rule", "rollback", "wildfire-aid-2024", "--to", "previous",
        "--reason", "Congress requested pause", "--user", "admin",
    ).stdout  # fmt: skip
    assert re.search(r"^↩️  Reverted to v0 in \d+\.\d{2,3}s \(Congress requested pause\)$", rolled, re.M), rolled

    status = json.loads(hms(portal, "rule", "status", "wildfire-aid-2024", "--json", "--user", "admin").stdout)
    assert status["releases"]["production"]["version"] == 0
    assert status["releases"]["staging"]["version"] == 1


def test_minimal_example_passes_with_its_warning(logged_in):
    """The minimal rule passes both checks, warning that only its declared cost can be checked."""
    out = hms(logged_in, "rule", "push", "examples/wildfire-aid-minimal.json").stdout
    assert re.search(r"^🔍 Lint \.+ PASSED$", out, re.M), out
    assert "NO_ELIGIBILITY" in out or "no eligibility logic" in out, out
    assert re.search(r"^🧪 Simulation \.+ PASSED", out, re.M), out
    assert "Waiting for peer review" in out


def test_over_budget_example_stops_at_simulation(logged_in):
    """The $2B rule stops at simulation, saying by how much it is over."""
    result = hms(logged_in, "rule", "push", "examples/wildfire-aid-over-budget.json", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert re.search(r"^🧪 Simulation \.+ FAILED", result.stdout, re.M), result.stdout
    assert "over budget by $1B" in result.stdout, result.stdout
    assert "Waiting for peer review" not in result.stdout


def test_audit_chain_verifies_after_the_walkthrough(logged_in):
    """The history the walkthrough wrote verifies with verify_audit."""
    result = subprocess.run(
        [sys.executable, "manage.py", "verify_audit"], capture_output=True, text=True, env=logged_in["env"], cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert "Audit chain intact" in result.stdout
