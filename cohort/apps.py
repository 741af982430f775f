from django.apps import AppConfig


class CohortConfig(AppConfig):
    """Shared pieces: base templates, generic views, API conventions, dashboard."""

    name = "cohort"
    verbose_name = "Cohort"
