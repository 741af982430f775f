from django.apps import AppConfig


class CohortConfig(AppConfig):
    """The wiring: settings, URLs, Celery, the dashboard, base templates and static files."""

    name = "cohort"
    verbose_name = "Cohort"
