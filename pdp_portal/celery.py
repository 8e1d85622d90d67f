import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pdp_portal.settings")

app = Celery("pdp_portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def enqueue_on_commit(name: str, *args: Any, task_id: str | None = None) -> None:
    """Publish the task named `name` once the surrounding transaction commits.

    By name, so a service never imports the tasks module that calls it back: the apps' tasks
    modules are loaded on first use, as the worker loads them.
    """
    from django.db import transaction

    if name not in app.tasks:
        # Each installed app's tasks module, and nothing else: the loader's own start-up would
        # also run Django's set-up again, which replaces the logging handlers of a running process.
        app.autodiscover_tasks(force=True)
    task = app.tasks[name]
    transaction.on_commit(lambda: task.apply_async(args=list(args), task_id=task_id))
