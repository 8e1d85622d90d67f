"""The audit page: who sees it, its filters, keyset pages, its query count, and verifying the chain."""

import datetime as dt
import html
import re
from unittest import mock

import pgtrigger
import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import STANDING_ACTIONS
from audit.models import AuditEvent, ChainVerification
from audit.services import record_event
from tests.conftest import last_event

ANONYMOUS = None
LIST, EXPORT, VERIFY = reverse("audit-list"), reverse("audit-export"), reverse("audit-verify")
# A verification's panel, as the page polls it (see `fragment`).
FRAGMENT = "fragment"


def add_events(count, action="test.event", *, actor=None, **kwargs):
    return [record_event(action, actor=actor, data={"n": i}, **kwargs) for i in range(count)]


def at(year, month, day, hour=12):
    return timezone.make_aware(dt.datetime(year, month, day, hour))


def add_event_at(when, action="test.dated", **kwargs):
    """An event written at `when` (the clock is the only thing stood in for)."""
    with mock.patch("django.utils.timezone.now", return_value=when):
        return record_event(action, actor=None, **kwargs)


def shown_ids(response):
    """The event ids of the table's rows, in the order shown."""
    return [int(n) for n in re.findall(r'<td class="pdp-num">(\d+)</td>', response.content.decode())]


def event_ids(response):
    """The same, leaving out the events of the test's people being made."""
    people = set(AuditEvent.objects.filter(action__in=STANDING_ACTIONS).values_list("id", flat=True))
    return [n for n in shown_ids(response) if n not in people]


def page_text(response):
    return html.unescape(response.content.decode())


# ---------------------------------------------------------------------------------------------
# Who may see it

CASES = [
    (url, method, who, expected)
    for url, method, allowed in (
        (LIST, "get", 200),
        (EXPORT, "get", 200),
        (VERIFY, "post", 302),
        (FRAGMENT, "get", 200),
    )
    for who, expected in (
        (ANONYMOUS, 302),
        ("outsider", 403),
        ("drafter", 403),
        ("counsel", 403),
        ("budget_officer", 403),
        ("release_manager", allowed),
        ("superuser", allowed),
    )
] + [
    (LIST, "post", "release_manager", 405),
    (EXPORT, "post", "release_manager", 405),
    (VERIFY, "get", "release_manager", 405),
    (FRAGMENT, "post", "release_manager", 405),
]


@pytest.mark.parametrize(
    ("url", "method", "who", "expected"), CASES, ids=[f"{u}-{m}-{w or 'anonymous'}" for u, m, w, _ in CASES]
)
def test_permission_matrix(
    request, client, db, django_capture_on_commit_callbacks, superuser, url, method, who, expected
):
    """Anonymous goes to login; only release managers and administrators are let in, any other role gets 403; wrong method 405."""
    add_events(2)
    if url == FRAGMENT:
        url = fragment(ChainVerification.objects.create(requested_by=superuser))
    if who is not None:
        client.force_login(request.getfixturevalue(who))
    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client, method)(url)
    assert response.status_code == expected
    if who is None:
        assert response["Location"].startswith(reverse("login"))
    elif expected == 302:
        # Verifying comes back to the audit page, which shows the verification.
        latest = ChainVerification.objects.order_by("-id").first()
        assert response["Location"] == f"{LIST}?verification={latest.pk}#verification"
        assert client.get(response["Location"]).status_code == 200


def fragment(verification):
    return reverse("audit-verification", args=[verification.pk])


def test_outsider_post_to_verify_records_nothing(client, outsider):
    """A refused verification starts nothing and writes no audit.verify event, only the refusal itself, once."""
    client.force_login(outsider)
    before = AuditEvent.objects.count()
    assert client.post(VERIFY).status_code == 403
    assert not ChainVerification.objects.exists()
    assert not AuditEvent.objects.filter(action="audit.verify").exists()
    assert AuditEvent.objects.count() == before + 1
    event = last_event()
    assert (event.action, event.outcome, event.actor) == ("audit.verify.request", "refused", outsider)


REFUSAL = "The audit history is for release managers and administrators; ask one of them."


@pytest.mark.parametrize("url", [LIST, EXPORT, FRAGMENT])
def test_a_drafter_reading_the_history_is_refused_and_recorded_once(client, drafter, superuser, url):
    """A drafter's GET of the page, the CSV or the panel answers 403 with why, and writes one portal.refused event."""
    add_events(2)
    if url == FRAGMENT:
        url = fragment(ChainVerification.objects.create(requested_by=superuser))
    client.force_login(drafter)
    before = last_event().pk
    response = client.get(url)
    assert response.status_code == 403
    assert REFUSAL in page_text(response)
    (event,) = AuditEvent.objects.filter(id__gt=before)
    assert (event.action, event.outcome, event.actor) == ("portal.refused", "refused", drafter)
    assert event.data == {"method": "GET", "path": url, "status": 403, "reason": REFUSAL}


def test_a_drafter_asking_for_a_verification_is_refused_and_recorded_once(client, drafter):
    """A drafter's Verify chain answers 403, starts nothing, and writes only the service's refused request."""
    add_events(2)
    client.force_login(drafter)
    before = last_event().pk
    assert client.post(VERIFY).status_code == 403
    assert not ChainVerification.objects.exists()
    (event,) = AuditEvent.objects.filter(id__gt=before)
    assert (event.action, event.outcome, event.actor) == ("audit.verify.request", "refused", drafter)
    assert event.data["reason"] == REFUSAL


def test_unknown_verification_fragment_is_404(client, release_manager):
    """The fragment of a verification that does not exist answers 404, even for an absurd id."""
    client.force_login(release_manager)
    assert client.get(reverse("audit-verification", args=[999])).status_code == 404
    assert client.get(f"{LIST}verification/{2**64}/").status_code == 404


# ---------------------------------------------------------------------------------------------
# What it shows


def test_every_event_newest_first_with_its_columns(client, in_production, superuser):
    """The page lists the events newest first: id, when, person, action, outcome tag, target, rule link, details, IP."""
    client.force_login(superuser)
    response = client.get(LIST)
    assert response.status_code == 200
    ids = shown_ids(response)
    assert ids == sorted(AuditEvent.objects.values_list("id", flat=True), reverse=True)
    page = page_text(response)
    assert '<caption class="usa-sr-only">Events 1–' in page and "newest first</caption>" in page
    assert '<a class="usa-link" href="/rules/wildfire-aid-2024/">wildfire-aid-2024</a>' in page
    assert "<code>release.<wbr>promote</code>" in page and "release_manager" in page
    assert 'class="usa-tag pdp-tag pdp-tag--muted">done</span>' in page
    assert f"<strong>{AuditEvent.objects.count()}</strong> events" in page
    assert 'scope="col">IP</th>' in page


def test_refusal_shows_its_reason_and_ip(client, counsel, release_manager):
    """A refused event shows the error tag, its reason, and the client address it came from."""
    from audit.services import current_ip

    token = current_ip.set("203.0.113.9")
    try:
        record_event("review.approve", actor=counsel, outcome="refused", data={"reason": "Not your role."})
    finally:
        current_ip.reset(token)
    client.force_login(release_manager)
    page = page_text(client.get(LIST))
    assert 'pdp-tag--error">refused</span>' in page
    assert '<td class="pdp-table__long">Not your role.</td>' in page
    assert '<td class="pdp-nowrap">203.0.113.9</td>' in page


def test_a_rollback_shows_its_reason_in_a_column_that_wraps(client, rolled_back, release_manager):
    """The rollback's reason is in its row's Details, a cell that wraps, so the table fits the page."""
    client.force_login(release_manager)
    page = page_text(client.get(LIST, {"action": "release.rollback"}))
    assert "pdp-table pdp-table--fit" in page
    details = re.findall(r'<td class="pdp-table__long">([^<]*)</td>', page)
    reason = rolled_back.rule.deployments.get(kind="rollback").reason
    assert len(details) == 1 and f"reason: {reason}" in details[0]


def test_rule_without_a_rule_page_is_not_linked(client, counsel, release_manager):
    """An event naming a rule that was never stored shows the slug without a dead link."""
    record_event("rule.push", actor=counsel, rule_slug="never-stored", outcome="refused", data={"reason": "bad"})
    client.force_login(release_manager)
    page = page_text(client.get(LIST))
    assert "<td>never-stored</td>" in page
    assert 'href="/rules/never-stored/"' not in page


def test_empty_history(client, db):
    """No events: the table says so and there is no pagination."""
    # An administrator made behind the application (no event), so the history is truly empty.
    client.force_login(User.objects.create(username="root", is_superuser=True))
    page = page_text(client.get(LIST))
    assert "Nothing recorded yet." in page
    assert "usa-pagination" not in page


# ---------------------------------------------------------------------------------------------
# Filters


def test_filter_by_rule(client, in_review, counsel, release_manager):
    """rule=<slug> shows only that rule's events."""
    record_event("other.thing", actor=counsel, rule_slug="another-rule")
    client.force_login(release_manager)
    response = client.get(LIST, {"rule": "another-rule"})
    assert event_ids(response) == [last_event("other.thing").pk]
    response = client.get(LIST, {"rule": "wildfire-aid-2024"})
    expected = AuditEvent.objects.filter(rule_slug="wildfire-aid-2024").order_by("-id").values_list("id", flat=True)
    assert event_ids(response) == list(expected) and len(expected) >= 3
    assert "<strong>" in response.content.decode() and "matching events" in page_text(response)


def test_filter_by_person_is_exact(client, drafter, other_drafter, release_manager):
    """person=drafter shows drafter's events, not drafter2's."""
    mine = add_events(2, actor=drafter)
    add_events(3, actor=other_drafter)
    client.force_login(release_manager)
    assert event_ids(client.get(LIST, {"person": "drafter"})) == [e.pk for e in reversed(mine)]
    assert len(event_ids(client.get(LIST, {"person": "drafter2"}))) == 3
    nobody = client.get(LIST, {"person": "nobody"})
    assert nobody.status_code == 400 and event_ids(nobody) == []
    assert "No recorded event is by “nobody”; choose a person from the list." in page_text(nobody)


def test_filter_by_action_offers_the_actions_present(client, release_manager):
    """The action select lists the recorded actions; choosing one filters to it."""
    add_events(2, "test.alpha")
    beta = add_events(1, "test.beta")
    client.force_login(release_manager)
    page = page_text(client.get(LIST))
    assert '<option value="test.alpha">test.alpha</option>' in page
    assert '<option value="test.beta">test.beta</option>' in page
    response = client.get(LIST, {"action": "test.beta"})
    assert event_ids(response) == [beta[0].pk]
    assert '<option value="test.beta" selected>' in page_text(response)


def test_filter_by_outcome(client, counsel, release_manager):
    """outcome=refused shows refusals only; outcome=done the rest."""
    done = add_events(2)
    refused = record_event("test.event", actor=counsel, outcome="refused", data={"reason": "no"})
    client.force_login(release_manager)
    assert event_ids(client.get(LIST, {"outcome": "refused"})) == [refused.pk]
    assert event_ids(client.get(LIST, {"outcome": "done"})) == [e.pk for e in reversed(done)]


def test_filter_by_dates_includes_both_days(client, release_manager):
    """date_from and date_to are whole days, both included, in the project's time zone."""
    before = add_event_at(at(2024, 6, 9, 23))
    first_moment = add_event_at(timezone.make_aware(dt.datetime(2024, 6, 10, 0, 0, 0)))
    middle = add_event_at(at(2024, 6, 11))
    last_moment = add_event_at(timezone.make_aware(dt.datetime(2024, 6, 12, 23, 59, 59, 999999)))
    after = add_event_at(timezone.make_aware(dt.datetime(2024, 6, 13, 0, 0, 0)))
    client.force_login(release_manager)
    response = client.get(LIST, {"date_from": "2024-06-10", "date_to": "2024-06-12"})
    assert response.status_code == 200
    assert event_ids(response) == [last_moment.pk, middle.pk, first_moment.pk]
    assert event_ids(client.get(LIST, {"date_from": "2024-06-12"})) == [after.pk, last_moment.pk]
    assert event_ids(client.get(LIST, {"date_to": "2024-06-09"})) == [before.pk]
    assert event_ids(client.get(LIST, {"date_from": "2024-06-11", "date_to": "2024-06-11"})) == [middle.pk]


def test_filters_combine(client, drafter, counsel, release_manager):
    """Several filters narrow together."""
    add_event_at(at(2024, 1, 1), "rule.push")
    record_event("rule.push", actor=drafter, rule_slug="a-rule")
    wanted = record_event("rule.push", actor=drafter, rule_slug="a-rule", outcome="refused", data={"reason": "x"})
    record_event("rule.push", actor=counsel, rule_slug="a-rule", outcome="refused", data={"reason": "x"})
    client.force_login(release_manager)
    query = {"rule": "a-rule", "person": "drafter", "action": "rule.push", "outcome": "refused"}
    query["date_from"] = timezone.localdate().isoformat()
    assert event_ids(client.get(LIST, query)) == [wanted.pk]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date_from": "2024-13-40"}, "Enter a real date as YYYY-MM-DD"),
        ({"date_to": "yesterday"}, "Enter a real date as YYYY-MM-DD"),
        ({"date_from": "2024-06-12", "date_to": "2024-06-10"}, "The end date is before the start date."),
        ({"rule": "not a slug!"}, "No recorded event is about the rule “not a slug!”; choose one from the list."),
        ({"action": "no.such.action"}, "No recorded event has the action “no.such.action”"),
        ({"outcome": "maybe"}, "Select a valid choice."),
        ({"person": "x" * 151}, "No recorded event is by “xxx"),
        ({"before": "abc"}, "Page position"),
        ({"before": "-5"}, "Page position"),
        ({"before": "9", "after": "3"}, "either before or after"),
    ],
)
def test_bad_filter_is_an_error_not_a_list(client, query, message, release_manager):
    """A filter that cannot be read answers 400 with the error, and shows no events as if filtered."""
    add_events(3)
    client.force_login(release_manager)
    response = client.get(LIST, query)
    assert response.status_code == 400
    page = page_text(response)
    assert "The filters could not be applied" in page
    assert message in page
    assert event_ids(response) == []
    assert "<table" not in page
    # The export refuses the same filters the same way instead of sending every event.
    export = client.get(EXPORT, query)
    assert export.status_code == 400
    assert message in page_text(export)


def test_bad_date_is_marked_on_its_field(client, release_manager):
    """The field in error carries the USWDS error style and its message is tied to it."""
    client.force_login(release_manager)
    page = page_text(client.get(LIST, {"date_from": "2024-13-40", "person": "drafter"}))
    assert 'id="id_date_from_error"' in page
    control = page.split('name="date_from"')[1].split(">")[0]
    assert 'aria-invalid="true"' in control and 'aria-describedby="id_date_from_helptext id_date_from_error"' in control
    assert 'value="2024-13-40"' in page
    assert 'href="#id_date_from"' in page.split("data-error-summary>")[1].split("</div>")[0]


# ---------------------------------------------------------------------------------------------
# Pages


def _links(response):
    """The pagination links by their text."""
    found = {}
    for href, text in re.findall(
        r'<a href="([^"]+)" class="usa-pagination__link[^"]*"[^>]*>.*?<span class="usa-pagination__link-text">(\w+)</span>',
        response.content.decode(),
        flags=re.S,
    ):
        found[text] = html.unescape(href)
    return found


def test_pages_of_fifty_walk_the_history_and_keep_the_filters(client, drafter, release_manager):
    """120 matching events: three pages of 50, 50, 20 by `before`, back by `after`, filters kept throughout."""
    wanted = add_events(120, "test.wanted", actor=drafter)
    add_events(30, "test.noise", actor=drafter)
    client.force_login(release_manager)
    newest_first = [e.pk for e in reversed(wanted)]

    first = client.get(LIST, {"action": "test.wanted", "person": "drafter"})
    assert event_ids(first) == newest_first[:50]
    assert "1–50 of 120" in page_text(first)
    links = _links(first)
    assert set(links) == {"Older", "Oldest"}
    assert links["Older"] == f"{LIST}?person=drafter&action=test.wanted&before={newest_first[49]}"

    second = client.get(links["Older"])
    assert event_ids(second) == newest_first[50:100]
    assert "51–100 of 120" in page_text(second)
    links = _links(second)
    assert set(links) == {"Newest", "Newer", "Older", "Oldest"}
    assert all("person=drafter" in url and "action=test.wanted" in url for url in links.values())

    third = client.get(links["Older"])
    assert event_ids(third) == newest_first[100:]
    assert "101–120 of 120" in page_text(third)
    assert set(_links(third)) == {"Newest", "Newer"}

    back = client.get(_links(third)["Newer"])
    assert event_ids(back) == newest_first[50:100]
    oldest = client.get(_links(first)["Oldest"])
    assert event_ids(oldest) == newest_first[70:]
    assert "71–120 of 120" in page_text(oldest)
    assert _links(client.get(_links(second)["Newest"])) == _links(first)


def test_export_link_keeps_the_filters(client, release_manager):
    """The CSV link carries the same filters, without the page position."""
    events = add_events(60, "test.wanted")
    client.force_login(release_manager)
    page = page_text(client.get(LIST, {"action": "test.wanted", "outcome": "done", "before": events[-1].pk}))
    assert f'href="{EXPORT}?action=test.wanted&outcome=done"' in page.replace("&amp;", "&")


def test_cursor_past_the_end_shows_an_empty_page(client, release_manager):
    """A stale `before` pointing below the oldest event shows nothing, with a way back."""
    events = add_events(3)
    client.force_login(release_manager)
    response = client.get(LIST, {"before": events[0].pk})
    assert response.status_code == 200
    assert event_ids(response) == []
    assert set(_links(response)) == {"Newest", "Newer"}


def _query_count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


@pytest.mark.parametrize("cursor", [False, True])
def test_query_count_is_the_same_at_5_and_50_events(
    client, django_assert_num_queries, counsel, in_review, cursor, release_manager
):
    """The page makes the same queries showing 5 events as showing 50 (and on a later page)."""
    client.force_login(release_manager)
    start = AuditEvent.objects.count()
    add_events(5 - start if start < 5 else 0, "test.first")
    url = LIST + (f"?before={AuditEvent.objects.order_by('-id').first().pk + 1}" if cursor else "")
    baseline, response = _query_count(client, url)
    assert len(shown_ids(response)) == AuditEvent.objects.count() == max(start, 5)
    add_events(50 - AuditEvent.objects.count(), "test.more", actor=counsel, rule_slug="wildfire-aid-2024")
    if cursor:
        url = LIST + f"?before={AuditEvent.objects.order_by('-id').first().pk + 1}"
    with django_assert_num_queries(baseline):
        response = client.get(url)
    assert len(shown_ids(response)) == 50


# ---------------------------------------------------------------------------------------------
# Verify the chain


def verify(client, django_capture_on_commit_callbacks, **data):
    """Press Verify chain; the job runs in-process once the request's transaction commits."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(VERIFY, data)
    assert response.status_code == 302
    return response


def test_verify_reports_an_intact_chain_and_records_itself(
    client, django_capture_on_commit_callbacks, in_production, release_manager
):
    """On a real history: the request and the result are recorded, and the page shows a success alert."""
    checked = AuditEvent.objects.count() + 1  # the request is itself an event of the chain
    client.force_login(release_manager)
    response = verify(client, django_capture_on_commit_callbacks)
    verification = ChainVerification.objects.get()
    assert response["Location"] == f"{LIST}?verification={verification.pk}#verification"
    page = page_text(client.get(response["Location"]))
    assert "usa-alert--success" in page
    assert re.search(rf"Chain verified: {checked} events, no break \(checked in \d+\.\d\d s\)\.", page)
    assert "requested by release_manager" in page
    assert "hx-get" not in page.split('id="verification-body"')[1].split(">")[0]
    request_event, event = AuditEvent.objects.order_by("-id")[1], last_event()
    assert (request_event.action, request_event.actor) == ("audit.verify.request", release_manager)
    assert (event.action, event.outcome, event.actor) == ("audit.verify", "done", release_manager)
    assert {k: v for k, v in event.data.items() if k != "duration_s"} == {
        "checked": checked,
        "ok": True,
        "problems": 0,
        "verification": verification.pk,
    }
    assert event.data["duration_s"] >= 0
    # The latest verification stays on the page, with who asked for it.
    assert "Chain verified" in page_text(client.get(LIST))


def test_no_panel_before_any_verification(client, release_manager):
    """Before anyone verified, the page has only the button."""
    add_events(1)
    client.force_login(release_manager)
    page = page_text(client.get(LIST))
    assert "Verify chain</button>" in page and 'id="verification"' not in page


def tamper(sql, params):
    """Change a stored event behind the application's back (past the trigger on PostgreSQL)."""
    with pgtrigger.ignore("audit.AuditEvent:audit_append_only"), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_verify_shows_the_break_after_an_event_is_altered(
    client, django_capture_on_commit_callbacks, in_production, release_manager
):
    """After one event's data is rewritten, verifying names it in an error alert and records ok=False."""
    target = last_event("review.approve")
    tamper("UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"rewritten": true}', target.pk])
    client.force_login(release_manager)
    response = verify(client, django_capture_on_commit_callbacks)
    page = page_text(client.get(response["Location"]))
    assert "usa-alert--error" in page
    assert "Chain broken: 1 problem in" in page
    assert f"event #{target.pk}: stored hash does not match its content" in page
    event = last_event()
    assert event.action == "audit.verify"
    assert event.data["ok"] is False and event.data["problems"] == 1


def test_verify_lists_at_most_twenty_problems(client, django_capture_on_commit_callbacks, release_manager):
    """Many breaks: the first 20 are listed and the page says where to see them all."""
    events = add_events(25)
    for event in events:
        tamper("UPDATE audit_auditevent SET actor_name = %s WHERE id = %s", ["someone", event.pk])
    client.force_login(release_manager)
    verify(client, django_capture_on_commit_callbacks)
    page = page_text(client.get(LIST))
    total = AuditEvent.objects.count() - 1  # all but the verification's own event
    assert f"Chain broken: 25 problems in {total} events" in page
    assert page.count("stored hash does not match its content") == 20
    assert "python manage.py verify_audit" in page
    assert {k: v for k, v in last_event().data.items() if k not in ("duration_s", "verification")} == {
        "checked": total,
        "ok": False,
        "problems": 25,
    }


def test_the_panel_polls_while_running_and_stops_when_finished(client, superuser, release_manager):
    """Queued and running: a labelled progress bar polling its fragment every second; finished: no hx- attributes."""
    add_events(3)
    verification = ChainVerification.objects.create(requested_by=superuser)
    url = fragment(verification)
    client.force_login(release_manager)

    page = page_text(client.get(LIST))
    assert '<div aria-live="polite">' in page
    assert f'hx-get="{url}" hx-trigger="every 1s" hx-swap="outerHTML"' in page
    assert "is waiting for a worker to start" in page
    assert '<label class="usa-label" for="verification-progress">' in page

    ChainVerification.objects.filter(pk=verification.pk).update(
        status="running", total=3, checked=2, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    running = page_text(client.get(url, headers={"HX-Request": "true"}))
    assert running.lstrip().startswith("<div") and "<html" not in running
    assert f'hx-get="{url}" hx-trigger="every 1s"' in running
    assert f"Verification #{verification.pk}: 2 of 3 events checked" in running
    assert '<progress id="verification-progress" max="3" value="2">' in running
    assert "requested by root" in running

    ChainVerification.objects.filter(pk=verification.pk).update(
        status="passed", checked=3, duration_s=0.25, finished_at=timezone.now()
    )
    finished = page_text(client.get(url, headers={"HX-Request": "true"}))
    assert "hx-" not in finished and "<progress" not in finished
    assert "Chain verified: 3 events, no break (checked in 0.25 s)." in finished


def test_an_abandoned_verification_says_so(client, release_manager):
    """A verification marked error shows why, and how to start another."""
    ChainVerification.objects.create(
        requested_by=release_manager, status="error", note="Abandoned: no progress for 300 s."
    )
    client.force_login(release_manager)
    page = page_text(client.get(LIST))
    assert "did not finish" in page and "Abandoned: no progress for 300 s." in page and "hx-get" not in page


def test_the_page_shows_the_verification_asked_for_or_says_it_is_unknown(client, release_manager):
    """?verification=<id> shows that one; an unknown or malformed id is named, and the latest is shown."""
    older = ChainVerification.objects.create(requested_by=release_manager, status="passed", checked=1, duration_s=0.1)
    latest = ChainVerification.objects.create(requested_by=release_manager, status="passed", checked=2, duration_s=0.1)
    client.force_login(release_manager)
    assert "Chain verified: 1 event, no break" in page_text(client.get(LIST, {"verification": older.pk}))
    assert "Chain verified: 2 events" in page_text(client.get(LIST))
    for wanted in ("999", "abc", "9" * 40):
        response = client.get(LIST, {"verification": wanted})
        assert response.status_code == 200
        page = page_text(response)
        assert f"There is no verification “{wanted}”." in page and "The latest one is shown instead." in page
        assert f"Verification #{latest.pk} passed" in page


def test_query_count_is_the_same_with_a_verification_panel(client, django_assert_num_queries, release_manager):
    """The panel costs the same whether there is no verification, a running one or a finished one."""
    add_events(5)
    client.force_login(release_manager)
    baseline, _ = _query_count(client, LIST)
    verification = ChainVerification.objects.create(requested_by=release_manager, status="running", total=5, checked=1)
    with django_assert_num_queries(baseline):
        assert "1 of 5 events checked" in page_text(client.get(LIST))
    ChainVerification.objects.filter(pk=verification.pk).update(status="passed", checked=5, duration_s=0.1)
    add_events(45)
    with django_assert_num_queries(baseline):
        assert "Chain verified: 5 events" in page_text(client.get(LIST))


def test_verify_comes_back_to_the_same_filters(client, django_capture_on_commit_callbacks, release_manager):
    """The verify button returns to the filtered page it was pressed on; unknown fields are dropped."""
    add_events(2, "test.event")
    client.force_login(release_manager)
    page = page_text(client.get(LIST, {"action": "test.event", "outcome": "done"}))
    assert 'name="back" value="action=test.event&outcome=done"' in page
    response = verify(
        client, django_capture_on_commit_callbacks, back="action=test.event&outcome=done&next=https://evil.example/"
    )
    pk = ChainVerification.objects.get().pk
    assert response["Location"] == f"{LIST}?action=test.event&outcome=done&verification={pk}#verification"


def test_pressing_again_while_one_runs_follows_the_same_verification(client, superuser, release_manager):
    """A second press while a verification is running leads to that one: no new verification, no event."""
    add_events(2)
    running = ChainVerification.objects.create(
        requested_by=superuser, status="running", started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    events = AuditEvent.objects.count()
    client.force_login(release_manager)
    response = client.post(VERIFY)
    assert response["Location"] == f"{LIST}?verification={running.pk}#verification"
    assert ChainVerification.objects.count() == 1 and AuditEvent.objects.count() == events


def test_every_bad_filter_is_named_at_once_and_every_id_is_unique(client, drafter, release_manager):
    """Three bad filters: each said once at its field and linked from the summary; no id repeats on the page."""
    record_event("test.event", actor=drafter)
    client.force_login(release_manager)
    response = client.get(LIST, {"rule": "no-such-rule", "person": "nobody", "date_to": "yesterday"})
    assert response.status_code == 400
    body = response.content.decode()
    summary = body.split("data-error-summary>")[1].split("</div>")[0]
    assert re.findall(r'href="#(id_\w+)"', summary) == ["id_rule", "id_person", "id_date_to"]
    for name in ("rule", "person", "date_to"):
        assert body.count(f'id="id_{name}_error"') == 1
    ids = re.findall(r'\sid="([^"]+)"', body)
    assert len(ids) == len(set(ids))


def test_the_rule_and_person_filters_offer_those_in_the_history(client, drafter, counsel, release_manager):
    """Rule and Person are lists of the rules and the people the history names, sorted, each once."""
    record_event("test.event", actor=drafter, rule_slug="b-rule")
    record_event("test.event", actor=counsel, rule_slug="a-rule")
    record_event("test.event", actor=counsel, rule_slug="a-rule")
    record_event("test.event", actor=None)  # the system: no person
    client.force_login(release_manager)
    page = page_text(client.get(LIST, {"rule": "a-rule"}))
    rule = page.split('<select name="rule"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]*)"', rule) == ["", "a-rule", "b-rule"]
    assert '<option value="a-rule" selected>' in rule
    person = page.split('<select name="person"')[1].split("</select>")[0]
    assert re.findall(r'<option value="([^"]*)"', person) == ["", counsel.username, drafter.username]
    assert 'type="text"' not in page.split('<form class="usa-form maxw-none"')[1].split("</form>")[0]


def test_the_lists_cost_one_query_however_many_rules_and_people(
    client, django_assert_num_queries, django_user_model, release_manager
):
    """The page makes the same queries whether the history names 2 rules and people or 40."""
    client.force_login(release_manager)
    people = [django_user_model.objects.create(username=f"person{i}") for i in range(40)]
    for i in range(2):
        record_event("test.event", actor=people[i], rule_slug=f"rule-{i}")
    baseline, _ = _query_count(client, LIST)
    for i in range(2, 40):
        record_event("test.event", actor=people[i], rule_slug=f"rule-{i}")
    with django_assert_num_queries(baseline):
        response = client.get(LIST)
    assert page_text(response).count('<option value="rule-') == 40
