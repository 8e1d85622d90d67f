"""A real Celery worker, started as the portal starts it, posts the audit events to a real receiver.

PostgreSQL and a Redis of the test's own, as the fault tests use them (tests/faults/): the web side
records events and publishes the loop's task as beat does, and the worker process does the rest.
"""

import pytest

from audit.services import record_event
from tests.conftest import make_user, require_postgres
from tests.deployments.support import POSTGRES_ONLY
from tests.faults.conftest import own_redis, start_worker, worker_data_dir  # noqa: F401 - fixtures
from tests.faults.support import publishing_to, wait_for
from tests.webhooks.conftest import add_endpoint
from tests.webhooks.test_delivery import verify
from webhooks.models import WebhookDelivery
from webhooks.tasks import dispatch_task

pytestmark = [pytest.mark.postgres, POSTGRES_ONLY, pytest.mark.django_db(transaction=True)]


def test_the_worker_posts_signed_events_and_retries_a_failure(receiver, own_redis, start_worker, monkeypatch):  # noqa: F811
    require_postgres()
    monkeypatch.setenv("PDP_WEBHOOK_ALLOW_PRIVATE", "1")
    monkeypatch.setenv("PDP_WEBHOOK_BACKOFF_SECONDS", "0")
    receiver.statuses = [503, 200]
    admin = make_user("root", superuser=True)
    endpoint, secret = add_endpoint(admin, receiver.url, events="release.")
    record_event("rule.push", actor=None)
    promoted = record_event("release.promote", actor=admin, data={"environment": "production"})
    start_worker(own_redis.url)
    with publishing_to(own_redis.url):
        dispatch_task.delay()  # as beat does every PDP_WEBHOOK_POLL_SECONDS
        wait_for(lambda: len(receiver.received) == 1, what="the first attempt", interval=0.1)
        dispatch_task.delay()
        wait_for(
            lambda: WebhookDelivery.objects.filter(endpoint=endpoint, state="delivered").exists(),
            what="the retry delivered",
            interval=0.1,
        )
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.event_id, delivery.attempt_count) == (promoted.pk, 2)
    assert [r.json["id"] for r in receiver.received] == [promoted.pk, promoted.pk]
    assert all(verify(secret, r.headers, r.body) for r in receiver.received)
