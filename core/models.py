"""The outbox of background tasks that could not be queued (core.queue)."""

from django.db import models


class KeptTask(models.Model):
    """A task sent while the broker was unreachable, kept until core.queue sends it again."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.task}{tuple(self.args)}"
