"""Cohort's Celery application: background jobs on a Redis broker, inline without one.

With CELERY_BROKER_URL (or REDIS_URL) set, `core.queue.enqueue(name, ...)` queues the task for a
`celery worker`; without a broker, settings turn on task_always_eager and the same
task runs inline in the calling process, with the same code and results.
"""

import os

from celery import Celery
from celery.signals import setup_logging

from core.structured_logging import use_cohort_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cohort.settings")

app = Celery("cohort")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Workers and beat log with Django's LOGGING (JSON lines in production), not Celery's format.
setup_logging.connect(use_cohort_logging)
