"""The list pages make the same number of queries however many rows they show."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deployments.services import rollback
from rules.services import push_rule_version
from tests.conftest import document


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _push_rules(drafter, start, count):
    # Pushed inside the test's transaction, so their checks stay queued: cheap rows.
    for i in range(start, start + count):
        push_rule_version(document(rule=f"rule-{i:03d}", title=f"Rule {i}"), actor=drafter)


def test_rule_list_query_count_does_not_grow_with_rules(
    client, django_assert_num_queries, in_production, drafter, counsel
):
    """The rule list at 5 and 50 rules (with versions and live pointers) makes the same queries."""
    _push_rules(drafter, 0, 4)
    client.force_login(counsel)
    url = reverse("rule-list")
    baseline = _count_queries(client, url)
    _push_rules(drafter, 4, 45)
    with django_assert_num_queries(baseline):
        response = client.get(url)
    assert response.content.count(b'href="/rules/rule-') == 49
    assert response.content.count(b'href="/rules/wildfire-aid-2024/"') == 1


def test_rule_page_query_count_does_not_grow_with_versions_history_and_audit(
    client, django_assert_num_queries, in_production, drafter, release_manager
):
    """The rule page at 5 and 50 versions, deployments and audit events makes the same queries."""
    rule = in_production.rule
    client.force_login(release_manager)
    url = reverse("rule-detail", args=[rule.slug]) + "?v=1"

    def add(start, count):
        for i in range(start, start + count):
            push_rule_version(document(cost=90_000_000 + i), actor=drafter)
            rollback(rule, actor=release_manager, reason=f"pause {i}", to="v0" if i % 2 == 0 else "v1")

    add(0, 4)
    baseline = _count_queries(client, url)
    add(4, 44)  # ends as the baseline did, with v1 live in production (what changed is told against it)
    with django_assert_num_queries(baseline):
        response = client.get(url)
    assert response.content.count(b"?v=") == 49
    assert response.content.count(b"pause ") >= 48
