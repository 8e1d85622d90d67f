"""Identical refusals from one person within a window are one event and a count, not a flood of the chain."""

import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent, RefusalTally
from audit.services import flush_refusal_tallies, record_event, record_refusal, verify_chain
from audit.tasks import flush_refusal_tallies_task
from tests.conftest import require_postgres

UPLOAD = "/rules/upload/"


def refusals(action="portal.refused"):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def close_the_window():
    """Move every open window back past its end, as if PDP_REFUSAL_WINDOW_SECONDS had passed."""
    past = timezone.now() - timedelta(seconds=settings.PDP_REFUSAL_WINDOW_SECONDS + 1)
    RefusalTally.objects.update(first_at=past, last_at=past)


def test_fifty_identical_refusals_write_one_event_and_a_count(client, counsel):
    """Counsel asks for the upload page 50 times: 50 × 403, one portal.refused event, a tally of 50."""
    client.force_login(counsel)
    statuses = {client.get(reverse("rule-upload")).status_code for _ in range(50)}
    assert statuses == {403}
    (event,) = refusals()
    assert (event.actor, event.data["path"], event.data["status"]) == (counsel, UPLOAD, 403)
    tally = RefusalTally.objects.get()
    assert (tally.actor, tally.method, tally.path, tally.status, tally.count) == (counsel, "GET", UPLOAD, 403, 50)
    assert verify_chain()[1] == []


def test_a_closed_window_is_flushed_as_one_event_with_the_repeats(client, counsel):
    """After the window, the flush writes one portal.refused.repeated saying 49 repeats, and forgets the tally."""
    client.force_login(counsel)
    for _ in range(50):
        client.get(reverse("rule-upload"))
    first = RefusalTally.objects.get()
    close_the_window()

    assert flush_refusal_tallies() == 1
    (repeated,) = refusals("portal.refused.repeated")
    assert (repeated.actor, repeated.outcome) == (counsel, "refused")
    assert repeated.data["repeats"] == 49
    assert (repeated.data["method"], repeated.data["path"], repeated.data["status"]) == ("GET", UPLOAD, 403)
    assert repeated.data["reason"] == first.reason
    assert not RefusalTally.objects.exists()
    assert flush_refusal_tallies() == 0, "a flushed window is not written twice"
    assert verify_chain()[1] == []


def test_an_open_window_is_not_flushed(client, counsel):
    """The periodic flush leaves a window that is still open alone: its repeats keep counting into it."""
    client.force_login(counsel)
    for _ in range(3):
        client.get(reverse("rule-upload"))
    assert flush_refusal_tallies() == 0
    assert RefusalTally.objects.get().count == 3
    assert not refusals("portal.refused.repeated")


def test_a_single_refusal_leaves_no_repeated_event(client, counsel):
    """A window with one refusal and no repeat is closed without another event."""
    client.force_login(counsel)
    client.get(reverse("rule-upload"))
    close_the_window()
    assert flush_refusal_tallies() == 0
    assert not RefusalTally.objects.exists()
    assert len(refusals()) == 1 and not refusals("portal.refused.repeated")


def test_the_same_refusal_after_the_window_is_a_new_event_and_flushes_the_old_count(client, counsel):
    """A refusal after the window closes the old one (its repeats written) and opens a new one with its own event."""
    client.force_login(counsel)
    for _ in range(5):
        client.get(reverse("rule-upload"))
    close_the_window()
    client.get(reverse("rule-upload"))

    actions = list(AuditEvent.objects.filter(action__startswith="portal.refused").values_list("action", flat=True))
    assert actions == ["portal.refused", "portal.refused.repeated", "portal.refused"]
    assert refusals("portal.refused.repeated")[0].data["repeats"] == 4
    assert RefusalTally.objects.get().count == 1
    assert verify_chain()[1] == []


def test_different_paths_people_and_statuses_are_counted_apart(client, counsel, budget_officer, in_review, outsider):
    """Each (person, method, path, status) is its own window: none hides another."""
    client.force_login(counsel)
    client.get(reverse("rule-upload"))
    client.get(reverse("rule-upload"))
    client.get("/rules/no-such-rule/")
    client.force_login(budget_officer)
    client.get(reverse("rule-upload"))
    client.force_login(outsider)
    client.get(reverse("rule-detail", args=["wildfire-aid-2024"]))

    events = refusals()
    assert [(e.actor.username, e.data["path"], e.data["status"]) for e in events] == [
        ("counsel", UPLOAD, 403),
        ("counsel", "/rules/no-such-rule/", 404),
        ("budget_officer", UPLOAD, 403),
        ("outsider", "/rules/wildfire-aid-2024/", 404),
    ]
    assert sorted(RefusalTally.objects.values_list("count", flat=True)) == [1, 1, 1, 2]


def test_the_worker_flushes_every_minute():
    """The beat schedule runs the flush task by its registered name."""
    entry = settings.CELERY_BEAT_SCHEDULE["flush-refusal-tallies"]
    assert entry["task"] == flush_refusal_tallies_task.name
    assert entry["schedule"] <= settings.PDP_REFUSAL_WINDOW_SECONDS


def test_the_flush_task_writes_the_repeats(counsel):
    """The task the beat runs flushes closed windows through the service and says how many it wrote."""
    for _ in range(4):
        record_refusal(actor=counsel, method="POST", path="/rules/upload/", status=403, reason="No.")
    close_the_window()
    assert flush_refusal_tallies_task.delay().get() == 1
    assert refusals("portal.refused.repeated")[0].data["repeats"] == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_hammering_counts_every_refusal_once(counsel):
    """8 threads × 25 identical refusals at once on PostgreSQL: one event, a tally of exactly 200, a whole chain."""
    require_postgres()
    start = threading.Barrier(8)
    errors = []

    def hammer():
        try:
            start.wait()
            for _ in range(25):
                record_refusal(actor=counsel, method="GET", path=UPLOAD, status=403, reason="No.")
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(refusals()) == 1
    assert RefusalTally.objects.get().count == 200
    close_the_window()
    assert flush_refusal_tallies() == 1
    assert refusals("portal.refused.repeated")[0].data["repeats"] == 199
    assert verify_chain()[1] == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_refusals_stay_counted_while_the_chain_is_busy(counsel, drafter):
    """Hammering while 8 writers keep the chain lock busy still writes one event: a window that another
    refusal opened a moment ago is counted into, not taken for a closed one and flushed."""
    require_postgres()
    stop = threading.Event()
    errors = []

    def run(work, pause):
        try:
            while not stop.is_set():
                work()
                time.sleep(pause)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def append():
        record_event("bench.append", actor=drafter, data={"n": 1})

    def refuse():
        record_refusal(actor=counsel, method="GET", path=UPLOAD, status=403, reason="No.")

    # The refusals come paced, as requests do, so that some arrive while a window is being opened.
    threads = [threading.Thread(target=run, args=(append, 0)) for _ in range(8)]
    threads += [threading.Thread(target=run, args=(refuse, 0.04)) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(refusals()) == 1
    assert refusals("portal.refused.repeated") == []
    assert RefusalTally.objects.get().count > 1
    assert verify_chain()[1] == []
