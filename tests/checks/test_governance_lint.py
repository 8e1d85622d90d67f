"""Governance checks at lint: a version that fails one fails lint with the finding at its path, and goes no further."""

import html
import json

from django.test import override_settings
from django.urls import reverse

from checks.services import run_lint
from tests.conftest import WILDFIRE, document, last_event

CUSTOM = "tests.governance_example:no_means_test_below_median"


def lint(push_queued, raw, drafter):
    version = push_queued(raw, actor=drafter)
    check = version.checks.get(kind="lint")
    run_lint(check.pk)
    version.refresh_from_db()
    check.refresh_from_db()
    return version, check


def errors(check):
    return [(f["code"], f["path"]) for f in check.findings if f["severity"] == "error"]


def test_the_example_passes_lint_under_the_defaults(push_queued, drafter):
    """The built-in set on by default (protected attributes) lets the wildfire example through."""
    version, check = lint(push_queued, document(), drafter)
    assert (version.status, check.status, errors(check)) == ("simulating", "passed", [])


def test_reading_a_protected_attribute_fails_lint(push_queued, drafter):
    """A rule that reads `ethnicity` fails lint at the `var` that reads it and is not simulated."""
    eligibility = json.loads(json.dumps(WILDFIRE["eligibility"]))
    eligibility["and"].append({"!=": [{"var": "ethnicity"}, "x"]})
    raw = document(eligibility=eligibility, inputs=[*WILDFIRE["inputs"], "ethnicity"])
    version, check = lint(push_queued, raw, drafter)
    assert (version.status, check.status) == ("lint_failed", "failed")
    assert ("GOVERNANCE_FORBIDDEN_INPUT", "$.eligibility.and[3].!=[0].var") in errors(check)
    assert ("GOVERNANCE_FORBIDDEN_INPUT", "$.inputs[3]") in errors(check)
    assert not version.checks.filter(kind="simulation").exists()
    assert last_event("check.lint").data["status"] == "failed"


@override_settings(PDP_GOVERNANCE_MAX_PAYMENT=4000, PDP_GOVERNANCE_REQUIRE_AUTHORITY=True)
def test_the_statutory_maximum_and_the_citation_when_set(push_queued, drafter):
    """With a maximum of 4,000 and citations required, a rule paying 5,000 and citing nothing fails both."""
    version, check = lint(push_queued, document(authority=None), drafter)
    assert version.status == "lint_failed"
    assert errors(check) == [("GOVERNANCE_MAX_PAYMENT", "$.max_payment"), ("GOVERNANCE_AUTHORITY", "$")]
    message = next(f["message"] for f in check.findings if f["code"] == "GOVERNANCE_MAX_PAYMENT")
    assert message == "The rule's maximum payment of $5,000 exceeds the statutory maximum payment of $4,000."


@override_settings(PDP_GOVERNANCE_FORBIDDEN_INPUTS=["veteran"])
def test_the_forbidden_list_is_the_operators_when_set(push_queued, drafter):
    """PDP_GOVERNANCE_FORBIDDEN_INPUTS replaces the built-in list."""
    eligibility = {"and": [*WILDFIRE["eligibility"]["and"], {"==": [{"var": "veteran"}, False]}]}
    raw = document(eligibility=eligibility, inputs=[*WILDFIRE["inputs"], "veteran"], tests=None)
    version, check = lint(push_queued, raw, drafter)
    assert version.status == "lint_failed"
    assert errors(check) == [
        ("GOVERNANCE_FORBIDDEN_INPUT", "$.inputs[3]"),
        ("GOVERNANCE_FORBIDDEN_INPUT", "$.eligibility.and[3].==[0].var"),
    ]


@override_settings(PDP_GOVERNANCE_CHECKS=[CUSTOM])
def test_a_check_registered_in_the_settings_runs_at_lint(push_queued, drafter):
    """The operator's own check, named as an entry point, fails a rule that means-tests below the median."""
    passing, check = lint(push_queued, document(), drafter)
    assert (passing.status, errors(check)) == ("simulating", [])

    eligibility = {"and": [*WILDFIRE["eligibility"]["and"], {"<": [{"var": "income"}, 40000]}]}
    raw = document(eligibility=eligibility, inputs=[*WILDFIRE["inputs"], "income"], tests=None)
    version, check = lint(push_queued, raw, drafter)
    assert version.status == "lint_failed"
    assert errors(check) == [("GOVERNANCE_MEANS_TEST", "$.eligibility.and[3]")]
    assert "below the median income of 75,000" in check.findings[-1]["message"]


@override_settings(PDP_GOVERNANCE_CHECKS=["tests.governance_example:no_such_check"])
def test_a_check_that_cannot_be_loaded_fails_lint_closed(push_queued, drafter):
    """A bad entry point (which manage.py check reports too) lets nothing through lint."""
    version, check = lint(push_queued, document(), drafter)
    assert version.status == "lint_failed"
    assert errors(check) == [("GOVERNANCE_CHECK_ERROR", "$")]
    assert "no_such_check" in check.findings[-1]["message"]


@override_settings(PDP_GOVERNANCE_MAX_PAYMENT=4000)
def test_the_simulate_command_lints_with_the_checks_in_force(db, tmp_path):
    """`manage.py simulate` stops at lint on a governance finding, as the pipeline does."""
    from checks.management.commands.simulate import simulate_file

    report = simulate_file(document(), dataset_path=None)
    assert (report["stage"], report["passed"]) == ("lint", False)
    assert [f["code"] for f in report["findings"] if f["severity"] == "error"] == ["GOVERNANCE_MAX_PAYMENT"]


def test_the_finding_shows_on_the_version_page_and_in_the_api(push_queued, drafter, client):
    """Where lint findings show today: the rule page's checks of the version, and the API's version."""
    raw = document(inputs=[*WILDFIRE["inputs"], "religion"])
    version, _ = lint(push_queued, raw, drafter)
    client.force_login(drafter)
    page = html.unescape(client.get(reverse("rule-detail", args=[version.rule.slug])).content.decode())
    assert "<code>GOVERNANCE_FORBIDDEN_INPUT</code>" in page
    assert "The rule declares 'religion' as an input. It is a protected attribute" in page
    body = client.get(f"/api/v1/rules/{version.rule.slug}/versions/{version.number}/").json()
    assert ("GOVERNANCE_FORBIDDEN_INPUT", "$.inputs[3]") in [(f["code"], f["path"]) for f in body["lint"]["findings"]]
