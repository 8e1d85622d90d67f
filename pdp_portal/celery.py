import logging
import logging.config
import os
from typing import Any

from celery import Celery, bootsteps
from celery.signals import setup_logging, task_postrun, task_prerun
from django.conf import settings
from kombu import __version__ as kombu_version
from kombu.exceptions import OperationalError as BrokerUnavailable

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pdp_portal.settings")

app = Celery("pdp_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)


def wake_for_soon_callbacks(hub: Any) -> None:
    """Before the worker's event loop polls, wake the poll at once when callbacks are waiting to run.

    kombu's loop runs the callbacks scheduled with call_soon, then polls. A callback scheduled from
    the loop's own thread while those run is left for the next turn, and the poll before it waits
    for the next timer (the worker's heartbeat, every 2 s). On RabbitMQ a solo worker reads its next
    message in such a callback, runs the task in it, and schedules the task's acknowledgement:
    unacknowledged, the broker sends no other message (prefetch 1), so the worker sat idle up to 2 s
    between tasks (kombu pull request 1587, open). This runs as the loop's last step before polling.
    """
    with hub._ready_lock:
        wake = bool(hub._ready) and not hub._wake_pending
        if wake:
            hub._wake_pending = True
    if wake and hub._waker is not None:
        hub._waker.wake()


class WakeForSoonCallbacks(bootsteps.Step):
    """A worker step: wake_for_soon_callbacks on every turn of the worker's event loop."""

    requires = ("celery.worker.components:Hub",)

    def create(self, worker: Any) -> None:
        hub = getattr(worker, "hub", None)
        if hub is None:
            return  # a worker without an event loop
        if not all(hasattr(hub, name) for name in ("_ready_lock", "_ready", "_wake_pending", "_waker", "on_tick")):
            logger.warning("kombu's event loop is not the one this step knows (kombu %s): not waking it", kombu_version)
            return
        hub.on_tick.add(lambda: wake_for_soon_callbacks(hub))


app.steps["worker"].add(WakeForSoonCallbacks)


@setup_logging.connect
def use_portal_logging(**_: Any) -> None:
    """The worker logs as the web does (settings.LOGGING: JSON lines carrying request ids), not in Celery's format."""
    logging.config.dictConfig(settings.LOGGING)


@task_prerun.connect
@task_postrun.connect
def reuse_sound_connections(sender: Any = None, **_: Any) -> None:
    """Between tasks, what Django does between requests: keep each database connection for
    CONN_MAX_AGE seconds, and close one that failed or was left inside a transaction (the next
    query opens a fresh one, after a health check of a kept one). Celery's own fix-up would close
    every connection around every task (settings.CELERY_DB_REUSE_MAX turns that off). A task run
    eagerly, inside its caller, uses the caller's connection and transaction: left alone."""
    from django.db import close_old_connections

    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()


def _task(name: str) -> Any:
    if name not in app.tasks:
        # Each installed app's tasks module, and nothing else: the loader's own start-up would
        # also run Django's set-up again, which replaces the logging handlers of a running process.
        app.autodiscover_tasks(force=True)
    return app.tasks[name]


def enqueue_chord_on_commit(header: list[tuple[str, tuple[Any, ...]]], body: tuple[str, tuple[Any, ...]]) -> None:
    """Publish a Celery chord once the surrounding transaction commits: the `header` tasks ((name, args) each)
    run in parallel on any workers, then `body` runs with their results as its first argument."""
    from celery import chord
    from django.db import transaction

    signatures = [_task(name).si(*args) for name, args in header]
    callback = _task(body[0]).s(*body[1])

    def publish() -> None:
        try:
            chord(signatures)(callback)
        except BrokerUnavailable:
            # As for a single task: the check stays running with its partitions planned, and the
            # sweeper publishes them again once the broker answers.
            logger.exception("The chord of %s could not be published (the broker is unreachable)", body[0])

    transaction.on_commit(publish)


def enqueue_on_commit(name: str, *args: Any, task_id: str | None = None) -> None:
    """Publish the task named `name` once the surrounding transaction commits.

    By name, so a service never imports the tasks module that calls it back: the apps' tasks
    modules are loaded on first use, as the worker loads them.
    """
    from django.db import transaction

    task = _task(name)

    def publish() -> None:
        try:
            task.apply_async(args=list(args), task_id=task_id)
        except BrokerUnavailable:
            # The change is committed: an error page now would only hide that it was made. A check
            # stays queued and the sweeper re-queues it once the broker answers; a chain
            # verification goes stale and the next press starts another; a review e-mail is not
            # sent, which this line records.
            logger.exception("Task %s%r could not be published (the broker is unreachable)", name, tuple(args))

    transaction.on_commit(publish)
