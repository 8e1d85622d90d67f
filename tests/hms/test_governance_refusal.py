"""`hms rule deploy` refused by a governance check tightened after the version passed lint."""

from django.test import override_settings


def test_deploy_is_refused_with_the_reason(cli, people, wildfire_file):
    """Pushed and staged under the defaults; with a statutory maximum below its $5,000: exit 1, one line, the reason."""
    assert cli("rule", "push", wildfire_file, "--user", "drafter").code == 0
    assert cli("rule", "review", "wildfire-aid-2024", "--user", "counsel", "--approve").code == 0
    assert cli("rule", "review", "wildfire-aid-2024", "--user", "budget_officer", "--approve").code == 0

    with override_settings(PDP_GOVERNANCE_MAX_PAYMENT=4000):
        result = cli("rule", "deploy", "wildfire-aid-2024", "--env", "prod", "--user", "release_manager")

    assert result.code == 1
    assert result.out == ""
    assert result.err == (
        "hms: 409 governance_refused: Wildfire-Aid-2024 v1 fails the governance checks in force now, so it may not "
        "go live: The rule's maximum payment of $5,000 exceeds the statutory maximum payment of $4,000. "
        "(GOVERNANCE_MAX_PAYMENT at $.max_payment)\n"
    )
