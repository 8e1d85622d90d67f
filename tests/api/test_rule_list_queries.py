"""GET /api/v1/rules/: the query count does not grow with the number of rules."""

from deployments.models import Environment, Release
from deployments.services import create_release_pointers
from rules.models import Rule, RuleVersion

LIST_QUERIES = 4  # token and user, the person's groups, the rules with their latest number, the pointers


def make_rules(count, *, start, author):
    """`count` rules, each with two versions and v1 live on staging (set up directly, not the subject here)."""
    staging = Environment.objects.get(name="staging")
    for index in range(start, start + count):
        rule = Rule.objects.create(slug=f"rule-{index:03d}", title=f"Rule {index}", created_by=author)
        create_release_pointers(rule)
        v1 = RuleVersion.objects.create(
            rule=rule, number=1, document="{}", content_hash=f"{index:064d}", uploaded_by=author
        )
        RuleVersion.objects.create(
            rule=rule, number=2, document="{}", content_hash=f"{index + 1:064d}", uploaded_by=author
        )
        Release.objects.filter(rule=rule, environment=staging).update(version=v1)


def test_query_count_is_flat_from_n_to_n_plus_ten(api, counsel, drafter, django_assert_num_queries):
    """Listing 3 rules and 13 rules takes the same number of queries."""
    client = api(counsel)
    make_rules(3, start=0, author=drafter)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get("/api/v1/rules/")
    assert len(response.json()["rules"]) == 3
    make_rules(10, start=3, author=drafter)
    with django_assert_num_queries(LIST_QUERIES):
        response = client.get("/api/v1/rules/")
    rules = response.json()["rules"]
    assert len(rules) == 13
    assert rules[0]["latest_version"] == 2
    assert rules[0]["releases"]["staging"]["version"] == 1
    assert rules[0]["releases"]["production"]["version"] == 0
