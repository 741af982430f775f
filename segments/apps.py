from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    """Saved, dynamic groups of contacts defined by filter criteria and refreshed by a sync."""

    name = "segments"
    verbose_name = "Segments"
