"""A version's label says where it is live first; only a version live nowhere shows "superseded"."""

from django.urls import reverse

from deployments.services import rollback
from rules.models import RuleVersion, VersionStatus
from tests.conftest import document


def _labels(version):
    annotated = RuleVersion.objects.with_live_places().get(pk=version.pk)
    plain = RuleVersion.objects.get(pk=version.pk)
    return annotated.status_label, plain.status_label, annotated.status_key


def test_a_version_live_everywhere_and_then_superseded_says_where_it_is_live(in_production, push, drafter):
    """Live in production and on staging, a newer push supersedes it as work; its label stays "live"."""
    assert _labels(in_production) == ("live in production and on staging",) * 2 + ("live",)
    newer = push(document(cost=97_000_000), actor=drafter)
    in_production.refresh_from_db()
    assert in_production.status == VersionStatus.SUPERSEDED
    assert _labels(in_production) == ("live in production and on staging",) * 2 + ("live",)
    assert _labels(newer) == ("in review", "in review", VersionStatus.IN_REVIEW)


def test_each_environment_is_named_and_a_version_live_nowhere_shows_its_status(in_production, release_manager):
    rollback(in_production.rule, actor=release_manager, reason="pause", environment="production", to="v0")
    assert _labels(in_production)[:2] == ("live on staging",) * 2
    rollback(in_production.rule, actor=release_manager, reason="pause", environment="staging", to="v0")
    assert _labels(in_production) == ("approved", "approved", VersionStatus.APPROVED)


def test_the_drafter_home_and_the_admin_show_live_not_superseded(client, in_production, push, drafter, superuser):
    push(document(cost=97_000_000), actor=drafter)
    client.force_login(drafter)
    home = client.get(reverse("home")).content.decode()
    assert "live in production and on staging" in home
    assert "superseded" not in home
    client.force_login(superuser)
    admin = client.get("/admin/rules/ruleversion/").content.decode()
    assert "live in production and on staging" in admin
    assert "superseded" not in admin.split('id="changelist-filter"')[0]


def test_the_rule_page_labels_the_live_version_by_where_it_serves(client, in_production, push, drafter):
    push(document(cost=97_000_000), actor=drafter)
    client.force_login(drafter)
    page = client.get(reverse("rule-detail", args=["wildfire-aid-2024"]) + "?v=1").content.decode()
    versions = page.split('id="versions-heading"')[1].split("</table>")[0]
    assert "live in production and on staging" in versions and "superseded" not in versions
    header = page.split('id="version-heading"')[1].split("</h2>")[0]
    assert "live in production and on staging" in header
