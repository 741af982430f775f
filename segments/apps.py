from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    """Saved, dynamic groups of contacts defined by filter criteria and refreshed by a sync."""

    name = "segments"
    verbose_name = "Segments"

    def ready(self) -> None:
        # Registers this app's task names in every process: work is queued by name
        # (core.queue), and without a broker the task is looked up by it at once.
        from segments import tasks  # noqa: F401
