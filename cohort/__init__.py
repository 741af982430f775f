"""Cohort: an open-source CRM with colour-coded tags and dynamic segments."""

# Loaded with Django so that @shared_task binds to Cohort's Celery app (cohort.celery).
from cohort.celery import app as celery_app

__all__ = ["celery_app"]
