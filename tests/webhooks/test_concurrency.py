"""Senders in several workers at once never send one delivery twice at the same time, and a receiver that
hangs or is down never slows the audit append. Real transactions and real threads."""

import statistics
import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.services import record_event
from tests.conftest import make_user
from tests.webhooks.conftest import add_endpoint
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import collect_deliveries, send_due_deliveries


def in_threads(count, work):
    """Run `work` in `count` threads started together; each closes its own connection. Raises a thread's error."""
    barrier = threading.Barrier(count)
    errors, results = [], []

    def run():
        try:
            barrier.wait()
            results.append(work())
        except BaseException as exc:  # handed to the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_senders_never_send_one_delivery_twice(receiver):
    receiver.delay = 0.02  # each send takes a while, so the two senders overlap
    admin = make_user("root", superuser=True)
    endpoint, _ = add_endpoint(admin, receiver.url)
    for index in range(30):
        record_event("rule.push", actor=None, data={"n": index})
    collect_deliveries()
    ids = set(map(str, endpoint.deliveries.values_list("pk", flat=True)))
    assert len(ids) == 30
    results = in_threads(2, send_due_deliveries)
    sent = receiver.delivery_ids()
    assert sorted(sent) == sorted(ids), "each delivery sent exactly once"
    assert sum(r["delivered"] for r in results) == 30
    assert all(r["delivered"] > 0 for r in results), f"both senders took part: {results}"
    assert WebhookAttempt.objects.count() == 30
    assert set(WebhookDelivery.objects.values_list("state", "attempt_count")) == {("delivered", 1)}


def _append_times(count):
    times = []
    for index in range(count):
        started = time.perf_counter()
        record_event("rule.push", actor=None, data={"n": index})
        times.append(time.perf_counter() - started)
    return times


@pytest.mark.django_db(transaction=True)
def test_a_hanging_receiver_does_not_slow_the_audit_append(receiver, settings):
    """Appends measured alone, then while the worker's sender waits on a receiver that answers after 2 s."""
    settings.PDP_WEBHOOK_TIMEOUT_SECONDS = 2.0
    receiver.delay = 3.0
    admin = make_user("root", superuser=True)
    baseline = statistics.median(_append_times(40))
    add_endpoint(admin, receiver.url)
    for _ in range(5):
        record_event("rule.push", actor=None)
    collect_deliveries()
    sender = threading.Thread(target=lambda: (send_due_deliveries(), connection.close()))
    sender.start()
    while not receiver.received:  # the sender is now waiting on the receiver
        time.sleep(0.01)
    during = _append_times(40)
    assert sender.is_alive(), "the appends were measured while the sender waited"
    sender.join(10)
    print(
        f"\naudit append median: alone {baseline * 1000:.2f} ms, during a hanging delivery {statistics.median(during) * 1000:.2f} ms"
    )
    assert statistics.median(during) < baseline * 3 + 0.005
    assert max(during) < 1.0


@pytest.mark.django_db
def test_the_append_makes_the_same_queries_with_endpoints_as_without(superuser, down_url):
    """The audit append path knows nothing of webhooks: no query, no network call is added to it."""

    def queries_of_one_append():
        with CaptureQueriesContext(connection) as captured:
            record_event("rule.push", actor=None)
        return [q["sql"].split(" ")[0] for q in captured.captured_queries]

    without = queries_of_one_append()
    for index in range(3):
        add_endpoint(superuser, down_url, name=f"Dead {index}")
    assert queries_of_one_append() == without
