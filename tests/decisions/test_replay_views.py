"""The replay section of a candidate's page, the page of its changed decisions, the rollback dialog's
sentence and the affected accounts' CSV."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from decisions.models import DecisionBatch
from decisions.recorder import hash_account
from decisions.services import CSV_HEADER
from tests.conftest import last_event
from tests.deployments.support import release_to_production

from .replay_support import ask_all, stricter_and_richer

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def candidate(in_production, push, drafter):
    return push(stricter_and_richer(), actor=drafter)


@pytest.fixture
def v2_live(candidate, counsel, budget_officer, release_manager):
    release_to_production(candidate, counsel=counsel, budget_officer=budget_officer, release_manager=release_manager)
    return candidate


def _replay_url(version):
    return reverse("version-replay", args=[version.rule.slug, version.number])


def test_a_candidates_page_loads_its_replay_after_the_page(client, candidate, counsel):
    """The rule page on a version in review holds the replay section as an htmx load, with a plain link."""
    client.force_login(counsel)
    body = client.get(reverse("rule-detail", args=[candidate.rule.slug]) + "?v=2").content.decode()
    url = _replay_url(candidate)
    assert f'hx-get="{url}" hx-trigger="load"' in body
    assert f'href="{url}"' in body and 'href="#replay-heading"' in body


def test_the_live_versions_page_has_no_replay(client, candidate, counsel):
    """The version live in production is not a candidate: nothing to replay."""
    client.force_login(counsel)
    body = client.get(reverse("rule-detail", args=[candidate.rule.slug]) + "?v=1").content.decode()
    assert "Replayed against production decisions" not in body


def test_the_replay_fragment_says_what_would_change(client, candidate, counsel, payments):
    """Ten decisions asked under v1: the fragment gives the sentence and the before/after table."""
    ask_all(payments)
    client.force_login(counsel)
    response = client.get(_replay_url(candidate), **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "<html" not in body
    assert "HX-Request" in response["Vary"]
    assert (
        "Replayed against the last 10 production decisions: <strong>8 would change</strong> "
        "(0 newly eligible, 2 no longer eligible, 6 amount changes), cost delta −$4,000.00." in body
    )
    assert "<td>$40,000.00</td><td>$36,000.00</td>" in body
    assert "<td>8</td><td>6</td>" in body
    assert 'href="' + _replay_url(candidate) + '"' in body


def test_the_replay_fragment_without_decisions(client, candidate, counsel):
    """No decision recorded yet: it says so."""
    client.force_login(counsel)
    body = client.get(_replay_url(candidate), **HTMX).content.decode()
    assert "No production decisions recorded yet for this rule." in body


def test_the_replay_fragment_notes_decisions_past_retention(client, candidate, counsel, payments):
    """Decisions whose inputs retention removed are noted."""
    ask_all(payments, [40, 40, 12])
    DecisionBatch.objects.filter(pk=DecisionBatch.objects.order_by("id").first().pk).update(inputs=None)
    client.force_login(counsel)
    body = client.get(_replay_url(candidate), **HTMX).content.decode()
    assert "last 2 production decisions" in body
    assert "1 more decisions were not replayed: their inputs have been removed by retention." in body


def test_the_replay_page_lists_the_changed_decisions(client, candidate, counsel, payments):
    """The page of changed decisions: request id (anchored), account, before → after, the inputs."""
    ids = ask_all(payments, [40, 12, 20])
    client.force_login(counsel)
    response = client.get(_replay_url(candidate))
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="request-{ids[0]}"' in body and f'href="#request-{ids[0]}"' in body
    assert f'id="request-{ids[2]}"' in body and f"request-{ids[1]}" not in body
    assert "eligible, $5,000.00 → eligible, $6,000.00" in body
    assert "eligible, $5,000.00 → not eligible" in body
    assert "acct-2" in body and "no longer eligible" in body
    assert "&quot;age&quot;:20" in body


def test_the_replay_page_reads_a_bounded_number_of_queries(client, candidate, counsel, payments,
                                                             django_assert_max_num_queries):  # fmt: skip
    """The replay page's queries do not grow with the decisions: 3 then 13 requests' batches."""
    client.force_login(counsel)
    ask_all(payments, [40, 12, 20])
    with django_assert_max_num_queries(20) as few:
        assert client.get(_replay_url(candidate)).status_code == 200
    read = len(few.captured_queries)  # before the API's requests reset the connection's query log
    ask_all(payments, [40] * 10, prefix="more")
    with django_assert_max_num_queries(read):
        assert client.get(_replay_url(candidate)).status_code == 200


def test_an_unknown_version_is_404(client, candidate, counsel):
    client.force_login(counsel)
    assert client.get(reverse("version-replay", args=[candidate.rule.slug, 9])).status_code == 404


def _impact_url(rule, **query):
    url = reverse("rule-rollback-impact", args=[rule.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_the_rollback_dialog_says_how_many_decisions_would_differ(client, v2_live, payments, release_manager):
    """Production v2 → v1: decisions made under v2 since it went live, how many v1 would answer otherwise."""
    DecisionBatch.objects.all().delete()
    ask_all(payments, [40, 20, 12, 40])
    client.force_login(release_manager)
    response = client.get(_impact_url(v2_live.rule, environment="production", to="previous"), **HTMX)
    body = response.content.decode()
    went_live = v2_live.rule.deployments.latest("id").created_at
    assert response.status_code == 200 and "<html" not in body
    since = timezone.localtime(went_live).strftime("%Y-%m-%d %H:%M")
    assert '4 decisions were made under v2 since it went live on <time datetime="' in body
    assert f">{since}</time>; 3 of them would differ under v1" in body
    assert "; 3 of them would differ under v1 (1 newly eligible, 0 no longer eligible, 2 amount changes)." in body
    csv_url = reverse("rule-rollback-affected", args=[v2_live.rule.slug]) + "?environment=production&amp;to=v1"
    assert f'href="{csv_url}"' in body and "Download the affected accounts (CSV)" in body
    assert "keyed hashes" not in body


def test_the_dialog_says_when_accounts_are_hashed(client, in_production, payments, release_manager, settings):
    """With PDP_DECISION_LOG_HASH_ACCOUNTS the CSV holds keyed hashes, and the dialog says so."""
    settings.PDP_DECISION_LOG_HASH_ACCOUNTS = True
    ask_all(payments, [40])
    client.force_login(release_manager)
    body = client.get(_impact_url(in_production.rule, to="v0"), **HTMX).content.decode()
    assert "1 of them would differ under v0 (0 newly eligible, 1 no longer eligible)" in body
    assert "the CSV holds keyed hashes of the account ids" in body
    rows = _csv(client.get(reverse("rule-rollback-affected", args=[in_production.rule.slug]) + "?to=v0"))
    assert rows[1][CSV_HEADER.index("account")] == hash_account("acct-0")


def test_a_refused_target_is_said_in_the_dialog_and_400_on_the_page(client, v2_live, release_manager):
    """A target the rollback would refuse is said where the sentence would be; the page answers 400."""
    client.force_login(release_manager)
    fragment = client.get(_impact_url(v2_live.rule, to="v7"), **HTMX)
    assert fragment.status_code == 200 and "has no v7" in fragment.content.decode()
    page = client.get(_impact_url(v2_live.rule, to="v7"))
    assert page.status_code == 400 and "has no v7" in page.content.decode()
    csv_response = client.get(reverse("rule-rollback-affected", args=[v2_live.rule.slug]) + "?to=nonsense")
    assert csv_response.status_code == 400
    assert last_event("decision_log.export") is None


def test_the_rollback_impact_page_lists_the_changed_decisions(client, v2_live, payments, release_manager,
                                                              django_assert_max_num_queries):  # fmt: skip
    """The plain page: the sentence and the changed decisions, in a bounded number of queries."""
    DecisionBatch.objects.all().delete()
    ids = ask_all(payments, [40, 20])
    client.force_login(release_manager)
    with django_assert_max_num_queries(25) as few:
        body = client.get(_impact_url(v2_live.rule)).content.decode()
    assert "Production v2 → v1" in body and f'id="request-{ids[1]}"' in body
    assert "not eligible → eligible, $5,000.00" in body
    read = len(few.captured_queries)  # before the API's requests reset the connection's query log
    ask_all(payments, [40] * 10, prefix="more")
    with django_assert_max_num_queries(read):
        assert client.get(_impact_url(v2_live.rule)).status_code == 200


def _csv(response):
    assert response.status_code == 200
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_download(client, v2_live, payments, release_manager):
    """The affected accounts stream as CSV named after the move; the download is audited."""
    DecisionBatch.objects.all().delete()
    ids = ask_all(payments, [40, 12, 20])
    client.force_login(release_manager)
    response = client.get(reverse("rule-rollback-affected", args=[v2_live.rule.slug]) + "?environment=production")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    slug = v2_live.rule.slug
    assert response["Content-Disposition"] == f'attachment; filename="{slug}-production-v2-to-v1-affected.csv"'
    rows = _csv(response)
    assert rows[0] == CSV_HEADER
    assert [(row[0], row[2]) for row in rows[1:]] == [(ids[0], "acct-0"), (ids[2], "acct-2")]
    event = last_event("decision_log.export")
    assert event.actor == release_manager and event.data == {"environment": "production", "to": "v1"}


def test_the_csv_is_refused_to_a_drafter(client, in_production, drafter):
    """A drafter may read the rule but not export account ids: 403, the refusal recorded."""
    client.force_login(drafter)
    response = client.get(reverse("rule-rollback-affected", args=[in_production.rule.slug]))
    assert response.status_code == 403
    assert last_event("decision_log.export").outcome == "refused"
    assert client.get(_impact_url(in_production.rule)).status_code == 403
