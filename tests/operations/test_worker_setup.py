"""How `celery -A pdp_portal worker` is set up, on any database and broker: the connection rule around each
task (tests/faults/test_worker_connections.py runs it on PostgreSQL) and the event loop's wake-up step
(tests/operations/test_worker_event_loop.py)."""

from types import SimpleNamespace

from celery.fixups.django import DjangoWorkerFixup
from celery.signals import task_postrun, task_prerun
from kombu.asynchronous import Hub

from pdp_portal.celery import WakeForSoonCallbacks, app, reuse_sound_connections


def receivers(signal):
    return [ref() for _, ref in signal.receivers]


def test_celerys_fixup_keeps_connections_and_the_portal_applies_djangos_rule():
    assert DjangoWorkerFixup(app).db_reuse_max >= 1_000_000  # settings.CELERY_DB_REUSE_MAX, read by the fix-up
    assert reuse_sound_connections in receivers(task_prerun)
    assert reuse_sound_connections in receivers(task_postrun)


def test_the_wake_up_step_is_a_worker_step_after_the_hub():
    assert WakeForSoonCallbacks in app.steps["worker"]
    assert WakeForSoonCallbacks.requires == ("celery.worker.components:Hub",)


def test_the_step_joins_the_workers_event_loop():
    hub = Hub()
    try:
        WakeForSoonCallbacks(SimpleNamespace()).create(SimpleNamespace(hub=hub))
        assert len(hub.on_tick) == 1
    finally:
        hub.close()


def test_a_worker_without_an_event_loop_or_with_another_kombu_is_left_alone(caplog):
    WakeForSoonCallbacks(SimpleNamespace()).create(SimpleNamespace(hub=None))
    other = SimpleNamespace(on_tick=set())  # an event loop without the attributes the step reads
    WakeForSoonCallbacks(SimpleNamespace()).create(SimpleNamespace(hub=other))
    assert other.on_tick == set()
    assert "not waking it" in caplog.text
