"""`hms rule deploy` and `hms rule rollback`."""

import re

import pytest


@pytest.fixture
def staged(cli, people, wildfire_file):
    """The wildfire example pushed and approved through hms: live on staging."""
    assert cli("rule", "push", wildfire_file, "--user", "drafter").code == 0
    assert cli("rule", "review", "wildfire-aid-2024", "--user", "counsel", "--approve").code == 0
    assert cli("rule", "review", "wildfire-aid-2024", "--user", "budget_officer", "--approve").code == 0


def test_deploy_before_staging_is_refused(cli, people, wildfire_file):
    """Promoting a rule with nothing on staging is a 409: exit 1, one stderr line."""
    assert cli("rule", "push", wildfire_file, "--user", "drafter").code == 0

    result = cli("rule", "deploy", "wildfire-aid-2024", "--env", "prod", "--user", "release_manager")

    assert result.code == 1
    assert result.out == ""
    assert re.fullmatch(r"hms: 409 release_refused: Nothing of Wildfire-Aid-2024 is live on staging.*\n", result.err)


def test_deploy_accepts_production_spelled_out(cli, staged):
    """--env production works like --env prod."""
    result = cli("rule", "deploy", "wildfire-aid-2024", "--env", "production", "--user", "release_manager")

    assert result.code == 0, result.err
    assert result.lines == ["🎉 Wildfire-Aid-2024 now LIVE (v1)"]


def test_deploy_with_a_release_note(cli, staged):
    """--note is sent with the promotion and kept on the Deployment; --json answers it back."""
    from deployments.models import Deployment

    args = ("rule", "deploy", "wildfire-aid-2024", "--env", "prod", "--note", " Payments start Monday. ", "--json")
    result = cli(*args, "--user", "release_manager")
    assert result.code == 0, result.err
    assert result.json["note"] == "Payments start Monday."
    assert Deployment.objects.get(environment__name="production").note == "Payments start Monday."


def test_deploy_refuses_another_environment(cli, staged):
    """--env takes prod or production only; anything else is a one-line usage error, exit 2."""
    result = cli("rule", "deploy", "wildfire-aid-2024", "--env", "moon", "--user", "release_manager")

    assert result.code == 2
    assert len(result.err.splitlines()) == 1
    assert "'moon' is not one of 'prod', 'production', 'staging', 'stage'" in result.err


def test_deploy_again_after_a_rollback(cli, staged):
    """Production rolled back to v0 takes v1 again with --version 1; staging too, once rolled back."""
    from deployments.models import Deployment, Release

    assert cli("rule", "deploy", "wildfire-aid-2024", "--env", "prod", "--user", "release_manager").code == 0
    for env in ("prod", "staging"):
        args = ("rule", "rollback", "wildfire-aid-2024", "--env", env, "--reason", "pause", "--user", "release_manager")
        assert cli(*args).code == 0

    result = cli("rule", "deploy", "wildfire-aid-2024", "--env", "prod", "--version", "1", "--user", "release_manager")
    assert result.code == 0, result.err
    assert result.lines == ["🎉 Wildfire-Aid-2024 now LIVE again (v1)"]
    result = cli("rule", "deploy", "wildfire-aid-2024", "--env", "stage", "--version", "1", "--user", "release_manager")
    assert result.code == 0, result.err
    assert result.lines == ["🚀 Wildfire-Aid-2024 on STAGING again (v1)"]
    assert {r.environment.name: r.version.number for r in Release.objects.all()} == {"staging": 1, "production": 1}
    assert Deployment.objects.filter(kind="redeploy").count() == 2


def test_deploy_again_of_what_is_live_is_refused(cli, staged):
    """--version naming what production serves: the portal's 409 in one line, exit 1, --json says the same."""
    assert cli("rule", "deploy", "wildfire-aid-2024", "--env", "prod", "--user", "release_manager").code == 0

    args = ("rule", "deploy", "wildfire-aid-2024", "--env", "prod", "--version", "1", "--user", "release_manager")
    result = cli(*args)
    assert result.code == 1
    assert result.err == "hms: 409 invalid_state: Wildfire-Aid-2024 v1 is already live in production.\n"
    result = cli(*args, "--json")
    assert result.code == 1
    assert result.json["error"]["code"] == "invalid_state"


def test_rollback_without_a_reason_exits_2(cli, staged):
    """The reason is required: hms says so in one line and exits 2 without moving anything."""
    from deployments.models import Deployment

    before = Deployment.objects.count()
    result = cli("rule", "rollback", "wildfire-aid-2024", "--to", "previous", "--user", "release_manager")

    assert result.code == 2
    assert result.err == 'hms: a rollback needs --reason "TEXT" saying why\n'
    assert Deployment.objects.count() == before


def test_rollback_of_staging_to_v0(cli, staged):
    """--env staging --to v0 withdraws the rule from staging and reports it."""
    from deployments.models import Release

    result = cli(
        "rule",
        "rollback",
        "wildfire-aid-2024",
        "--env",
        "staging",
        "--to",
        "v0",
        "--reason",
        "typo",
        "--user",
        "release_manager",
    )

    assert result.code == 0, result.err
    assert re.fullmatch(r"↩️  Reverted to v0 in \d+\.\d{2,3}s \(typo\)", result.lines[0])
    assert Release.objects.get(environment__name="staging").version is None


def test_rollback_to_a_version_that_does_not_exist(cli, staged):
    """A target the rule never had is the portal's 400, exit 1."""
    result = cli("rule", "rollback", "wildfire-aid-2024", "--to", "v7", "--reason", "x", "--user", "release_manager")

    assert result.code == 1
    assert result.err == "hms: 400 invalid_input: Wildfire-Aid-2024 has no v7.\n"
