import json

from django.core.management import call_command

from budget.models import Fund
from tests.conftest import WILDFIRE


def test_the_rules_own_live_cost_does_not_count_against_its_fund(in_production, tmp_path, capsys):
    """Simulating a new version of a live rule leaves the live version's cost out of the fund's remainder."""
    live_cost = in_production.checks.get(kind="simulation").result["cost"]
    Fund.objects.create(code="DRF-FY2025", appropriation=live_cost * 1.5, fiscal_year=2025)
    path = tmp_path / "v2.json"
    path.write_text(json.dumps({**WILDFIRE, "title": "Amended"}))
    call_command("simulate", str(path), "--json")
    report = json.loads(capsys.readouterr().out)
    assert report["passed"] is True
    assert report["limits"]["fund remainder"] == round(live_cost * 1.5, 2)
    assert report["against_live"]["cost_delta"] == 0.0
