"""The worker's event loop runs a callback scheduled while callbacks run without first waiting on its poll.

kombu's loop runs the callbacks waiting (call_soon), then polls until the next timer. One scheduled from
the loop's own thread while they run waited for that poll: on RabbitMQ a solo worker's acknowledgement
of a task is such a callback, so the worker sat idle up to 2 s between tasks. The worker step
pdp_portal.celery.WakeForSoonCallbacks wakes the poll. These run kombu's own Hub, as the worker does.
"""

import os
import time
from types import SimpleNamespace

import pytest
from kombu.asynchronous import Hub

from pdp_portal.celery import WakeForSoonCallbacks, wake_for_soon_callbacks

TIMER_S = 2.0


@pytest.fixture
def hub():
    hub = Hub()
    read, write = os.pipe()  # something to poll, as the broker's socket is
    hub.add_reader(read, lambda: None)
    hub.call_later(TIMER_S, lambda: None)  # the next timer: what the poll would wait for
    yield hub
    hub.close()
    os.close(read)
    os.close(write)


def seconds_until_the_acknowledgement(hub):
    """A callback (reading a message and running its task) schedules another (its acknowledgement)."""
    acknowledged = []
    hub.call_soon(lambda: hub.call_soon(lambda: acknowledged.append(time.monotonic())))
    loop = hub.create_loop()
    started = time.monotonic()
    while not acknowledged and time.monotonic() - started < 2 * TIMER_S:
        next(loop)
    return acknowledged[0] - started


def test_without_the_step_the_loop_waits_for_its_timer(hub):
    assert seconds_until_the_acknowledgement(hub) > 0.5  # what kombu does alone (if this fails, it was mended)


def test_with_the_step_the_loop_runs_it_at_once(hub):
    WakeForSoonCallbacks(SimpleNamespace()).create(SimpleNamespace(hub=hub))  # as the worker creates its steps
    assert seconds_until_the_acknowledgement(hub) < 0.2


def test_nothing_waiting_leaves_the_poll_to_wait():
    hub = Hub()
    try:
        hub.create_loop()  # makes the waker
        wake_for_soon_callbacks(hub)
        assert not hub._wake_pending
    finally:
        hub.close()
