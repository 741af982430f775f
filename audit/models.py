"""The audit log: one row per change to a tag, segment, segment membership or API token.

Rows are written by audit.services.record_event inside the transaction of the change
they describe, and never edited. Names are snapshots, so an entry still reads after
its actor or target is gone.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.choices import Action, TargetType
from audit.summaries import summarise


class AuditEntry(models.Model):
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("who"),
    )
    # The actor's username at the time; empty for changes made by the system (commands).
    actor_name = models.CharField(_("who (name)"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=40, choices=Action.choices)
    target_type = models.CharField(_("target type"), max_length=20, choices=TargetType.choices)
    target_id = models.BigIntegerField(_("target id"))
    target_name = models.CharField(_("target name"), max_length=200, blank=True)
    # What changed: before/after of edited fields, counts, merge source and target… never
    # a secret (a token's plain text is never passed here).
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        default_permissions = ()
        permissions = [("view_auditentry", "view audit log")]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["created_at"], name="auditentry_created_idx"),
            # A tag's or segment's history, newest first, without sorting.
            models.Index(
                fields=["target_type", "target_id", "created_at"], name="auditentry_target_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} “{self.target_name}” by {self.who}"

    @property
    def who(self) -> str:
        return self.actor_name or "System"

    @property
    def summary(self) -> str:
        """The details in a line of words, for the audit page and History sections."""
        return summarise(self.action, self.details)
