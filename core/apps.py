from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The domain-free foundation: paging, counting, CSV, generic views, API conventions.

    It knows no record type; the apps above it configure and compose its pieces.
    """

    name = "core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from core import tasks  # noqa: F401  (registers the task names, see core.queue)
        from core.middleware import SlidingSessionMiddleware

        user_logged_in.connect(
            SlidingSessionMiddleware.mark_signed_in, dispatch_uid="core.sliding_session"
        )
