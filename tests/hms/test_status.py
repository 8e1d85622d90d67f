"""`hms rule status`: live pointers and each version's checks."""

import io
import re

from hms.output import Output, versions_table


def test_status_shows_pointers_and_versions(cli, people, fund, wildfire_file, write_doc):
    """The summary names the rule, its live pointers, and each version with its checks and cost."""
    assert cli("rule", "push", wildfire_file, "--user", "drafter").code == 0
    assert cli("rule", "review", "wildfire-aid-2024", "--user", "counsel", "--approve").code == 0
    assert cli("rule", "review", "wildfire-aid-2024", "--user", "budget_officer", "--approve").code == 0

    result = cli("rule", "status", "wildfire-aid-2024", "--user", "drafter")

    assert result.code == 0, result.err
    assert result.lines[0] == "Wildfire-Aid-2024 — Wildfire Relief Payment 2024 [disaster-relief]"
    assert result.lines[1] == "staging: v1  production: v0"
    assert re.fullmatch(
        r"v1 +approved +lint passed +simulation passed +Cost: \$\d+(\.\d)?M within budget +\(live: staging\)",
        result.lines[2],
    ), result.lines[2]


def test_status_json_is_the_api_body(cli, people, wildfire_file, client):
    """--json prints exactly what GET /api/v1/rules/<slug>/ answers."""
    from hms.tokens import TokenStore

    assert cli("rule", "push", wildfire_file, "--user", "drafter").code == 0
    result = cli("rule", "status", "wildfire-aid-2024", "--json", "--user", "drafter")
    key = next(iter(TokenStore().load()["servers"].values()))["tokens"]["drafter"]
    api = client.get("/api/v1/rules/wildfire-aid-2024/", HTTP_AUTHORIZATION=f"Token {key}").json()

    assert result.code == 0, result.err
    assert result.json == api


def test_status_of_an_unknown_rule_is_a_404(cli, people):
    """A rule the portal does not know: exit 1 and the 404 in one line."""
    result = cli("rule", "status", "no-such-rule")

    assert result.code == 1
    assert result.out == ""
    assert re.fullmatch(r"hms: 404 not_found: .+\n", result.err)


def test_the_versions_table_is_plain_text_in_a_pipe(monkeypatch):
    """Piped, the table has no ANSI codes (even under FORCE_COLOR), no wrapped rows and no trailing blanks."""
    monkeypatch.setenv("FORCE_COLOR", "1")
    rule = {
        "releases": {"staging": {"version": 1, "label": "v1"}, "production": {"version": None, "label": None}},
        "versions": [
            {
                "number": 2,
                "status": "simulation_running",
                "lint": {"status": "passed"},
                "simulation": {"status": "running", "progress": 40},
            },
            {
                "number": 1,
                "status": "approved",
                "lint": {"status": "passed"},
                "simulation": {"status": "passed", "result": {"cost": 102_000_000, "within_budget": True}},
            },
        ],
    }
    piped = io.StringIO()

    Output(False, stdout=piped).table(versions_table(rule))

    assert piped.getvalue().splitlines() == [
        "v2  simulation running  lint passed  simulation running 40%",
        "v1  approved            lint passed  simulation passed       Cost: $102M within budget  (live: staging)",
    ]
