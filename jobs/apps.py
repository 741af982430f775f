from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Background jobs: their state, progress and files, run by Celery or inline."""

    name = "jobs"
    verbose_name = "Background jobs"

    def ready(self) -> None:
        # Registers this app's task names in every process: work is queued by name
        # (core.queue), and without a broker the task is looked up by it at once.
        from jobs import tasks  # noqa: F401
