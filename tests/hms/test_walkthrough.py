"""The walkthrough of DESIGN.md, command by command, against the real API."""

import re

import pytest

MONEY = r"\$\d+(\.\d)?[KMB]?"


@pytest.fixture
def walkthrough(cli, people, fund, wildfire_file):
    """Runs the five commands of the walkthrough and returns their results, in order."""
    return [
        cli("rule", "push", wildfire_file, "--user", "drafter"),
        cli("rule", "review", "wildfire-aid-2024", "--user", "counsel", "--approve"),
        cli("rule", "review", "wildfire-aid-2024", "--user", "budget_officer", "--approve"),
        cli("rule", "deploy", "wildfire-aid-2024", "--env", "prod", "--user", "release_manager"),
        cli("rule", "rollback", "wildfire-aid-2024", "--to", "previous", "--reason", "Congress requested pause"),
    ]


def test_walkthrough_prints_the_fixed_lines(walkthrough):
    """Push, two approvals, deploy and rollback print the walkthrough's lines with real figures."""
    push, legal, budget, deploy, rollback = walkthrough
    for result in walkthrough:
        assert result.code == 0, result.err
        assert result.err == ""

    # Warnings (the small test population drifts from the declared cost) are indented extra lines.
    lines = [line for line in push.lines if not line.startswith("   ⚠ ")]
    assert len(lines) == 4, push.out
    assert lines[0] == "📤 Uploaded Wildfire-Aid-2024  (v1)"
    assert lines[1] == "🔍 Lint ............. PASSED"
    assert re.fullmatch(rf"🧪 Simulation \.{{7}} PASSED \(Cost: {MONEY} within budget\)", lines[2]), lines[2]
    assert re.fullmatch(r"⏳ Waiting for peer review \.\.\. \(checks took \d+\.\d\ds\)", lines[3]), lines[3]

    assert legal.lines == ["🖊  Approved as legal by counsel; still needed: budget"]
    assert budget.lines == ["✅ All required reviews received.", "🚀 Promoted to STAGING"]
    assert deploy.lines == ["🎉 Wildfire-Aid-2024 now LIVE (v1)"]
    assert len(rollback.lines) == 1
    assert re.fullmatch(r"↩️  Reverted to v0 in \d+\.\d{2,3}s \(Congress requested pause\)", rollback.lines[0]), (
        rollback.out
    )


def test_walkthrough_moves_the_live_pointers(walkthrough):
    """After the walkthrough staging serves v1 and production serves nothing (rolled back to v0)."""
    from deployments.models import Release

    assert all(result.code == 0 for result in walkthrough)
    live = {r.environment.name: r.version_label for r in Release.objects.filter(rule__slug="wildfire-aid-2024")}
    assert live == {"staging": "v1", "production": "v0"}


def test_push_reports_the_simulated_cost_the_api_measured(cli, people, fund, wildfire_file):
    """The cost on the Simulation line is the API's simulated cost in short money form."""
    from checks.models import CheckRun
    from hms.output import short_money

    result = cli("rule", "push", wildfire_file, "--user", "drafter")
    cost = CheckRun.objects.get(version__rule__slug="wildfire-aid-2024", kind="simulation").result["cost"]
    assert result.code == 0, result.err
    assert f"PASSED (Cost: {short_money(cost)} within budget)" in result.lines[2]


def test_every_walkthrough_command_prints_one_json_object(cli, people, fund, wildfire_file):
    """With --json (before or after the subcommand) each command prints one parseable JSON object."""
    push = cli("--json", "rule", "push", wildfire_file, "--user", "drafter")
    legal = cli("rule", "review", "wildfire-aid-2024", "--user", "counsel", "--approve", "--json")
    budget = cli("rule", "--json", "review", "wildfire-aid-2024", "--user", "budget_officer", "--approve")
    deploy = cli("rule", "deploy", "wildfire-aid-2024", "--env", "production", "--json")
    status = cli("rule", "status", "wildfire-aid-2024", "--json")
    rollback = cli("--json", "rule", "rollback", "wildfire-aid-2024", "--to", "v0", "--reason", "pause")
    for result in (push, legal, budget, deploy, status, rollback):
        assert result.code == 0, result.err
        assert result.out.lstrip().startswith("{")

    assert push.json["status"] == "in_review"
    assert push.json["name"] == "Wildfire-Aid-2024"
    assert push.json["lint"]["status"] == push.json["simulation"]["status"] == "passed"
    assert push.json["checks_took_s"] >= 0
    assert legal.json["review"]["role"] == "legal"
    assert legal.json["missing_roles"] == ["budget"]
    assert budget.json["status"] == "approved"
    assert budget.json["staging"]["label"] == "v1"
    assert deploy.json["to"] == "v1" and deploy.json["environment"] == "production"
    assert status.json["releases"]["production"]["label"] == "v1"
    assert rollback.json["to"] == "v0" and rollback.json["reason"] == "pause"
