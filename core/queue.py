"""Sending background tasks by name: the one way Cohort's code queues Celery work.

A task is named where it is defined (`@shared_task(name="segments.sync_segment")`) and
sent by that name, so the code that queues work never imports the module that defines
the task. That module imports the engine it drives; importing it back would be a cycle.
Each app's AppConfig.ready() imports its tasks module, so every name is registered in
web processes too (eager mode, without a broker, looks the task up by name).

When the broker is unreachable `enqueue` raises QueueUnavailable, which pages and the
API answer as a 503 with Retry-After. Work that must not be lost (live segment updates)
goes through `enqueue_or_keep` instead: it keeps the task in the database (KeptTask)
and `send_kept_tasks`, run by celery beat every minute, sends it once the broker is back.
"""

import logging

import kombu.exceptions
import redis.exceptions
from celery import current_app

from django.conf import settings
from django.db import connection, transaction

from core.degraded import warn_every
from core.models import KeptTask

logger = logging.getLogger(__name__)

# What a send raises when the broker cannot be reached (kombu wraps most of them).
BROKER_ERRORS = (
    kombu.exceptions.OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)
# Kept tasks sent per run of send_kept_tasks; the next run sends the rest.
SEND_KEPT_BATCH = 1_000


class QueueUnavailable(Exception):
    """The job queue (broker) cannot be reached; the message says so to the user."""

    retry_after = 30

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "Background jobs cannot be started right now: the job queue is unreachable. "
            f"Nothing was changed; try again in {self.retry_after} seconds."
        )


def enqueue(task_name: str, *args) -> None:
    """Send the task named `task_name` to Cohort's queue (COHORT_CELERY_QUEUE).

    The queue is named at each send: Celery's router fixes the default queue at its
    first use, so `delay()` would keep sending to the queue of that moment. Without a
    broker (task_always_eager) the task runs here, inline, before this returns, and its
    errors are its own. QueueUnavailable when the broker cannot be reached.
    """
    task = current_app.tasks[task_name]
    if current_app.conf.task_always_eager:
        task.apply_async(args=list(args), queue=settings.CELERY_TASK_DEFAULT_QUEUE)
        return
    try:
        task.apply_async(args=list(args), queue=settings.CELERY_TASK_DEFAULT_QUEUE)
    except BROKER_ERRORS as error:
        warn_every(
            logger, "broker", "The job queue is unreachable (%s: %s)", type(error).__name__, error
        )
        raise QueueUnavailable() from error


def enqueue_or_keep(task_name: str, *args) -> bool:
    """Send the task, or keep it in the database to be sent when the broker is back;
    whether it was sent."""
    try:
        enqueue(task_name, *args)
    except QueueUnavailable:
        KeptTask.objects.create(task=task_name, args=list(args))
        return False
    return True


def send_kept_tasks(limit: int = SEND_KEPT_BATCH) -> int:
    """Send the kept tasks, oldest first, deleting each sent one; how many were sent.

    Stops at the first that cannot be sent (the broker is still down). Rows are locked
    while sent (skipped by a concurrent run on PostgreSQL); a task sent twice after a
    crash between send and commit is harmless: every kept task is safe to run twice.
    """
    skip_locked = connection.features.has_select_for_update_skip_locked
    sent = 0
    with transaction.atomic():
        rows = KeptTask.objects.select_for_update(skip_locked=skip_locked).order_by("pk")
        for kept in rows[:limit]:
            try:
                enqueue(kept.task, *kept.args)
            except QueueUnavailable:
                break
            except KeyError:  # a task no longer defined: nothing can run it
                logger.error("Dropped kept task %s: no such task", kept.task)
            kept.delete()
            sent += 1
    if sent:
        logger.info("Sent %s task(s) kept while the job queue was unreachable", sent)
    return sent
