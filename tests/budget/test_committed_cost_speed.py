"""committed_costs reads two figures per live rule in a fixed number of queries, with the same totals.

The rows here are written directly (as the page benchmark loads them): this is a read, and pushing
a dozen rules through lint and simulation would only make the tests slow.
"""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budget.models import Fund
from budget.services import committed_cost, committed_costs
from checks.models import CheckRun
from deployments.models import Environment, Release
from deployments.services import create_release_pointers
from engine.document import canonical_text, content_hash
from rules.models import Rule, RuleVersion
from tests.conftest import document

# A simulation result is large (tables by county, histograms): padding stands in for it.
PADDING = {"by_county": [{"county": f"County {i}", "cost": i * 1000.5} for i in range(200)]}


def _version(rule, number, *, actor, fund, result):
    doc = json.loads(document(rule=rule.slug, fund=fund))
    text = canonical_text(doc)
    version = RuleVersion.objects.create(
        rule=rule, number=number, document=text, content_hash=content_hash(text), uploaded_by=actor, status="approved"
    )
    CheckRun.objects.create(version=version, kind=CheckRun.Kind.LINT, status=CheckRun.Status.PASSED)
    if result is not None:
        CheckRun.objects.create(
            version=version, kind=CheckRun.Kind.SIMULATION, status=CheckRun.Status.PASSED, result={**PADDING, **result}
        )
    return version


def _live(slug, *, actor, fund="DRF-FY2025", cost=1.0, result=None, environments=(Environment.PRODUCTION,)):
    """A rule whose one version (simulated at `cost`, or with `result`) is live in `environments`."""
    rule = Rule.objects.create(slug=slug, created_by=actor)
    create_release_pointers(rule)
    version = _version(rule, 1, actor=actor, fund=fund, result=result if result is not None else {"cost": cost})
    Release.objects.filter(rule=rule, environment__name__in=environments).update(version=version)
    return rule


def _as_read_row_by_row(exclude_rule=None):
    """The totals read the plain way: every live version's parsed document and its simulation."""
    totals = {}
    releases = Release.objects.filter(environment__name=Environment.PRODUCTION, version__isnull=False)
    for release in releases.exclude(rule=exclude_rule).order_by("rule__slug"):
        code = release.version.parsed().get("fund")
        sim = release.version.checks.filter(kind=CheckRun.Kind.SIMULATION).first()
        if code and sim and sim.result.get("cost") is not None:
            totals[code] = totals.get(code, 0.0) + float(sim.result["cost"])
    return totals


@pytest.fixture
def live_rules(drafter):
    """Rules live in production on two funds, and the cases that commit nothing."""
    rules = {
        "a": _live("relief-a", actor=drafter, cost=100.25),
        "b": _live("relief-b", actor=drafter, cost=0.1),
        "c": _live("relief-c", actor=drafter, cost=0.2),
        "schools": _live("schools", actor=drafter, fund="EDU-FY2026", cost=7_000_000.5),
        "declared": _live("declared", actor=drafter, result={"cost": 98_000_000, "cost_source": "declared"}),
    }
    _live("staging-only", actor=drafter, cost=1e9, environments=(Environment.STAGING,))
    _live("no-fund", actor=drafter, fund=None, cost=1e9)
    _live("no-cost", actor=drafter, result={"rows": 3})
    _live("null-cost", actor=drafter, result={"cost": None})
    withdrawn = _live("withdrawn", actor=drafter, cost=1e9)
    Release.objects.filter(rule=withdrawn).update(version=None)
    unsimulated = Rule.objects.create(slug="unsimulated", created_by=drafter)
    create_release_pointers(unsimulated)
    Release.objects.filter(rule=unsimulated, environment__name=Environment.PRODUCTION).update(
        version=_version(unsimulated, 1, actor=drafter, fund="DRF-FY2025", result=None)
    )
    # Only the version live counts, not an older or newer one of the same rule.
    _version(rules["a"], 2, actor=drafter, fund="DRF-FY2025", result={"cost": 1e9})
    return rules


def test_totals_by_fund(live_rules):
    """Each fund's total is the simulated (or declared) cost of the versions live in production on it."""
    totals = committed_costs()
    assert totals == {"DRF-FY2025": pytest.approx(98_000_100.55), "EDU-FY2026": 7_000_000.5}
    assert totals == _as_read_row_by_row()  # exactly: summed in the same order
    assert all(type(value) is float for value in totals.values())


def test_a_rules_own_live_cost_is_left_out(live_rules):
    """Leaving a rule out (as its own budget check does) drops only its live version's cost."""
    relief = Fund(code="DRF-FY2025")
    totals = committed_costs(exclude_rule=live_rules["a"])
    assert totals == _as_read_row_by_row(exclude_rule=live_rules["a"])
    assert totals["DRF-FY2025"] == pytest.approx(98_000_000.3)
    assert committed_cost(relief, exclude_rule=live_rules["a"]) == totals["DRF-FY2025"]
    assert committed_cost(Fund(code="EDU-FY2026"), exclude_rule=live_rules["schools"]) == 0.0
    assert committed_cost(Fund(code="NONE-FY2030")) == 0.0


def test_nothing_live_commits_nothing(drafter):
    """With nothing live in production, no fund has anything committed."""
    _live("staging-only", actor=drafter, environments=(Environment.STAGING,))
    assert committed_costs() == {}


def test_query_count_does_not_grow_with_live_rules(drafter, django_assert_num_queries):
    """3 and 13 live rules on 3 and 13 funds take the same queries, none reading whole check rows."""
    for i in range(3):
        _live(f"rule-{i}", actor=drafter, fund=f"F{i}", cost=i + 0.5)
    with CaptureQueriesContext(connection) as baseline:
        committed_costs()
    for i in range(3, 13):
        _live(f"rule-{i}", actor=drafter, fund=f"F{i}", cost=i + 0.5)
    with django_assert_num_queries(len(baseline)) as captured:
        totals = committed_costs()
    assert totals == {f"F{i}": i + 0.5 for i in range(13)}
    assert len(baseline) <= 2
    assert not any('"rules_checkrun"."findings"' in query["sql"] for query in captured.captured_queries)
