"""The checks section polls while a check is queued or running, and stops once both are finished."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from checks.models import CheckRun
from rules.services import push_rule_version
from tests.conftest import document

SLUG = "wildfire-aid-2024"


def _fragment(client, number=1, headers=None):
    response = client.get(reverse("version-checks", args=[SLUG, number]), headers=headers or {})
    assert response.status_code == 200
    return response


def test_queued_check_polls(client, drafter):
    """Just after a push (lint queued) the fragment asks htmx to poll every second."""
    push_rule_version(document(), actor=drafter)  # its checks wait for a commit that never comes here
    client.force_login(drafter)
    body = _fragment(client).content.decode()
    assert 'hx-trigger="every 1s"' in body
    assert f'hx-get="{reverse("version-checks", args=[SLUG, 1])}"' in body


def test_running_check_polls_and_shows_progress(client, drafter):
    """A running check keeps the polling and shows a progress bar with its note."""
    version = push_rule_version(document(), actor=drafter)
    CheckRun.objects.filter(version=version).update(status="running", progress=40, progress_note="800 of 2,000 rows")
    client.force_login(drafter)
    body = _fragment(client).content.decode()
    assert 'hx-trigger="every 1s"' in body
    assert '<progress id="progress-lint" max="100" value="40">' in body
    assert "800 of 2,000 rows" in body


def test_rule_page_embeds_the_polling_fragment_while_running(client, drafter):
    """The rule page itself starts the polling while its checks run."""
    push_rule_version(document(), actor=drafter)
    client.force_login(drafter)
    body = client.get(reverse("rule-detail", args=[SLUG])).content.decode()
    assert 'hx-trigger="every 1s"' in body


def test_finished_checks_stop_polling(client, in_review, counsel):
    """Once lint and simulation are finished the fragment has no hx-trigger (nor hx-get), so htmx stops."""
    client.force_login(counsel)
    body = _fragment(client).content.decode()
    assert "hx-trigger" not in body and "hx-get" not in body
    assert "Simulation figures" in body and "Cost by county" in body
    page = client.get(reverse("rule-detail", args=[SLUG])).content.decode()
    # Nothing on the page polls (the replay section is loaded once, hx-trigger="load").
    assert 'hx-trigger="every' not in page and page.count("hx-trigger") == page.count('hx-trigger="load"') == 1


def test_htmx_poll_that_finds_checks_finished_reloads_the_page(client, in_review, counsel):
    """The poll that sees the checks finish asks htmx to reload the page, so the new status and buttons show."""
    client.force_login(counsel)
    assert _fragment(client, headers={"HX-Request": "true"})["HX-Refresh"] == "true"
    assert "HX-Refresh" not in _fragment(client)


def test_lint_failure_stops_polling_and_lists_findings(client, push, drafter):
    """A version that fails lint has no simulation; polling stops and its findings are shown as a table."""
    push(document(valid_from="2026-01-01", valid_to="2025-01-01"), actor=drafter)
    client.force_login(drafter)
    body = _fragment(client).content.decode()
    assert "hx-trigger" not in body
    assert '<th scope="col">JSON path</th>' in body
    assert "Runs after lint passes." in body


def test_findings_give_the_line_of_their_path_in_the_document(client, push, drafter, counsel):
    """A lint finding names its JSON path and the line of the page's raw document where that path starts."""
    from engine.document import parse_canonical
    from portal.presenters.docdiff import path_lines

    version = push(document(eligibility={"and": [{"frobnicate": [1]}]}), actor=drafter)
    version.refresh_from_db()
    findings = version.check_of("lint").findings
    path = next(f["path"] for f in findings if f.get("path", "").startswith("$.eligibility"))
    client.force_login(counsel)
    page = client.get(reverse("version-checks", args=[version.rule.slug, version.number])).content.decode()
    row = page.split(f"<code>{path}</code>")[1].split("</tr>")[0]
    line = path_lines(parse_canonical(version.document))
    expected = line.get(path) or line[path.rsplit("[", 1)[0]]
    assert f'<td class="pdp-num">{expected}</td>' in row


def test_findings_wrap_their_message_and_path_to_fit_the_page(client, push, drafter):
    """The findings table fits its column: the message and the JSON path are cells that wrap."""
    push(document(valid_from="2026-01-01", valid_to="2025-01-01"), actor=drafter)
    client.force_login(drafter)
    body = _fragment(client).content.decode()
    table = body.split("findings. The line is")[0].rsplit("<table", 1)[1]
    assert 'class="usa-table usa-table--compact pdp-table pdp-table--fit"' in table
    row = body.split("findings. The line is")[1].split("<tbody>")[1].split("</tr>")[0]
    assert row.count('<td class="pdp-table__long">') == 2


def _partitioned_simulation(push_queued, drafter, settings, partition_rows, raw=None):
    """A version whose simulation is planned in partitions of `partition_rows`, the first one done."""
    from django.test import TestCase

    from checks.services import run_simulation
    from checks.tasks import simulate_partition_task
    from tests.checks.test_run_simulation import linted

    settings.PDP_PARTITION_ROWS = partition_rows
    version, check = linted(push_queued, drafter, raw)
    with TestCase.captureOnCommitCallbacks(execute=False):
        run_simulation(check.pk)
    simulate_partition_task.apply(args=(check.pk, "figures", 0)).get()
    return version


def test_a_partitioned_simulation_lists_its_partitions_while_it_runs(
    client, push_queued, drafter, settings, django_assert_num_queries
):
    """Each partition's rows, state and attempts are a table row; the queries do not grow with partitions."""
    version = _partitioned_simulation(push_queued, drafter, settings, 500)
    client.force_login(drafter)
    body = _fragment(client, version.number).content.decode()
    assert '<progress id="progress-simulation" max="100" value="25">' in body
    assert "1 of 4 partitions done (500 of 2,000 rows simulated)" in body
    table = body.split("<caption>Partitions:")[1].split("</table>")[0]
    rows = [r.split("</tr>")[0] for r in table.split("<tbody>")[1].split("<tr>")[1:]]
    assert len(rows) == 4
    first = [cell.split(">", 1)[1].split("</td>")[0] for cell in rows[0].split("<td")[1:]]
    assert first[:5] == ["1", "figures", "1", "500", "done"]
    assert "queued" in rows[1] and "1,501" in rows[3] and "2,000" in rows[3]
    with CaptureQueriesContext(connection) as few:
        _fragment(client, version.number)
    many_version = _partitioned_simulation(push_queued, drafter, settings, 100, document(title="Split finer"))
    with django_assert_num_queries(len(few.captured_queries)):
        body = _fragment(client, many_version.number).content.decode()
    assert body.split("<caption>Partitions:")[1].count("<tr>") == 21  # the header and 20 partitions
