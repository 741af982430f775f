"""Sending background tasks by name: the one way Cohort's code queues Celery work.

A task is named where it is defined (`@shared_task(name="segments.sync_segment")`) and
sent by that name, so the code that queues work never imports the module that defines
the task. That module imports the engine it drives; importing it back would be a cycle.
Each app's AppConfig.ready() imports its tasks module, so every name is registered in
web processes too (eager mode, without a broker, looks the task up by name).
"""

from celery import current_app

from django.conf import settings


def enqueue(task_name: str, *args) -> None:
    """Send the task named `task_name` to Cohort's queue (COHORT_CELERY_QUEUE).

    The queue is named at each send: Celery's router fixes the default queue at its
    first use, so `delay()` would keep sending to the queue of that moment. Without a
    broker (task_always_eager) the task runs here, inline, before this returns.
    """
    current_app.tasks[task_name].apply_async(
        args=list(args), queue=settings.CELERY_TASK_DEFAULT_QUEUE
    )
