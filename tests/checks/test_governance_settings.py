"""pdp_portal/governance.py: the checks in force, read from the settings and installed packages; `manage.py check`
reports a setting or entry point that cannot be used."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from pdp_portal.governance import check_governance_settings, configured_checks, governance_findings
from tests.conftest import WILDFIRE

CUSTOM = "tests.governance_example:no_means_test_below_median"


def names():
    return [name for name, _ in configured_checks()]


def test_the_defaults_are_the_forbidden_inputs_check_alone():
    """Out of the box: protected attributes on; no statutory maximum; no citation required; nothing else."""
    assert names() == ["built-in forbidden_inputs"]
    assert check_governance_settings() == []


@override_settings(
    PDP_GOVERNANCE_FORBIDDEN_INPUTS=[],
    PDP_GOVERNANCE_MAX_PAYMENT=10_000,
    PDP_GOVERNANCE_REQUIRE_AUTHORITY=True,
    PDP_GOVERNANCE_CHECKS=[CUSTOM],
)
def test_each_setting_turns_its_check_on_or_off():
    assert names() == ["built-in statutory_max_payment", "built-in authority_check", CUSTOM]


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("tests.no_such_module:check", "cannot be loaded: ModuleNotFoundError: No module named 'tests.no_such_module'"),
        ("tests.governance_example:missing", "cannot be loaded: AttributeError"),
        ("tests.governance_example:NOT_A_CHECK", "names int, which is not a callable check"),
        ("not an entry point", "is not an entry point: write it as module.path:callable"),
    ],
)
def test_manage_py_check_reports_a_bad_entry_point(spec, says):
    """`manage.py check` fails naming the entry point and what is wrong with it."""
    with override_settings(PDP_GOVERNANCE_CHECKS=[spec]):
        (error,) = check_governance_settings()
        with pytest.raises(SystemCheckError) as info:
            call_command("check")
    assert error.id == "pdp_portal.E101" and error.level >= 40
    assert repr(spec) in error.msg and says in error.msg
    assert "pdp_portal.E101" in str(info.value) and says in str(info.value)


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("PDP_GOVERNANCE_MAX_PAYMENT", -1, "PDP_GOVERNANCE_MAX_PAYMENT must be a number of at least 0"),
        ("PDP_GOVERNANCE_MAX_PAYMENT", float("inf"), "PDP_GOVERNANCE_MAX_PAYMENT must be a number of at least 0"),
        ("PDP_GOVERNANCE_FORBIDDEN_INPUTS", "race", "PDP_GOVERNANCE_FORBIDDEN_INPUTS must be a list of names"),
        ("PDP_GOVERNANCE_CHECKS", CUSTOM, "PDP_GOVERNANCE_CHECKS must be a list of entry points"),
    ],
)
def test_manage_py_check_reports_a_bad_value(setting, value, says):
    with override_settings(**{setting: value}):
        (error,) = check_governance_settings()
    assert says in error.msg


def test_a_bad_setting_fails_every_rule_closed():
    """Until it is fixed, the checks cannot be shown to hold: every rule gets GOVERNANCE_CHECK_ERROR."""
    with override_settings(PDP_GOVERNANCE_CHECKS=["tests.governance_example:missing"]):
        (finding,) = governance_findings(WILDFIRE)
    assert (finding["code"], finding["severity"]) == ("GOVERNANCE_CHECK_ERROR", "error")
    assert finding["message"].startswith("The governance checks could not be loaded, so no rule can be shown")


def installed_package(folder, line):
    """A distribution on sys.path whose entry_points.txt registers `line` in the pdp_portal.governance group."""
    info = folder / "pdp_governance_extra-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pdp-governance-extra\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[pdp_portal.governance]\n{line}\n")


def test_a_check_registered_by_an_installed_package_is_in_force(tmp_path, monkeypatch):
    installed_package(tmp_path, f"means_test = {CUSTOM}")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert names() == ["built-in forbidden_inputs", f"means_test ({CUSTOM})"]
    means_tested = {**WILDFIRE, "eligibility": {"and": [{"<": [{"var": "income"}, 30000]}]}}
    assert [f["code"] for f in governance_findings(means_tested)] == ["GOVERNANCE_MEANS_TEST"]


def test_an_installed_package_whose_check_cannot_load_fails_manage_py_check(tmp_path, monkeypatch):
    installed_package(tmp_path, "broken = tests.governance_example:gone")
    monkeypatch.syspath_prepend(str(tmp_path))
    (error,) = check_governance_settings()
    assert "The installed governance check broken (tests.governance_example:gone) cannot be loaded" in error.msg
