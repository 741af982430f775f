"""Celery shell of core's background work: re-sending tasks kept during a broker outage.

Queued by celery beat (CELERY_BEAT_SCHEDULE); CoreConfig.ready() imports this module so
the name is registered in every process.
"""

from celery import shared_task

from core.queue import send_kept_tasks


@shared_task(name="core.send_kept_tasks", acks_late=True)
def send_kept_tasks_task() -> int:
    """Send the tasks kept while the broker was unreachable (core.queue)."""
    return send_kept_tasks()
