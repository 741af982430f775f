"""Segments: saved criteria over contacts, their members, manual removals and sync runs.

Membership is materialised (one row per segment and contact) and changes only
by a sync (segments.sync) or a manual add/remove (segments.services).
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from segments.choices import AddedHow, SyncOutcome


def empty_criteria() -> dict:
    return {"match": "all", "conditions": []}


class Segment(models.Model):
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    # The criteria tree, as validated and normalised by segments.criteria.
    criteria = models.JSONField(_("filter criteria"), default=empty_criteria)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When membership was last replaced by a successful sync.
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Kept in step with the membership rows by every write in segments.sync/services.
    member_count = models.PositiveIntegerField(default=0, editable=False)
    # The latest run, failed or not: what the list shows as the last sync's outcome.
    last_run = models.ForeignKey(
        "SyncRun",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = [Lower("name"), "id"]
        default_permissions = ()
        permissions = [
            ("view_segment", "view crm segments"),
            ("manage_segment", "manage crm segments"),
        ]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="segment_name_unique_ci",
                violation_error_message="A segment with this name already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    # The unique constraint's index (segment, contact) serves lookups by segment.
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="memberships", db_index=False
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="segment_memberships"
    )
    added_how = models.CharField(max_length=10, choices=AddedHow.choices)
    added_at = models.DateTimeField()

    class Meta:
        # Permissions are the segment's own: view and manage (see Segment.Meta).
        default_permissions = ()
        ordering = ["-added_at", "-contact_id"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="segmentmember_unique")
        ]
        indexes = [
            # A segment's member list, newest first, without sorting.
            models.Index(
                fields=["segment", "added_at", "contact"], name="segmentmember_listing_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id} ({self.added_how})"


class SegmentRemoval(models.Model):
    """A contact removed by hand: no sync brings it back until it is added by hand again."""

    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="removals", db_index=False
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="segment_removals"
    )
    removed_at = models.DateTimeField()
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        default_permissions = ()
        ordering = ["-removed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="segmentremoval_unique")
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} removed from {self.segment_id}"


class SyncRun(models.Model):
    """One sync of a segment: what it found and changed, or why it failed."""

    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # The criteria the run evaluated, so history stays readable after edits.
    criteria = models.JSONField(default=dict)
    matched = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    removed = models.PositiveIntegerField(default=0)
    members_after = models.PositiveIntegerField(default=0)
    duration_ms = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=SyncOutcome.choices)
    error = models.TextField(blank=True)

    class Meta:
        default_permissions = ()
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["segment", "started_at"], name="syncrun_segment_time_idx")]

    def __str__(self) -> str:
        return f"Sync of {self.segment_id} at {self.started_at:%Y-%m-%d %H:%M} ({self.outcome})"


class CriteriaReference(models.Model):
    """A tag, user or segment a segment's criteria names by id.

    Kept by segments.services whenever criteria are saved. PROTECT makes the
    database layer refuse to delete anything a segment still depends on, and
    `segments_using` answers "who uses this?" with an indexed lookup.
    """

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="references")
    tag = models.ForeignKey(
        "tags.Tag", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    target = models.ForeignKey(
        Segment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referenced_by",
    )

    class Meta:
        default_permissions = ()
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(tag__isnull=False, user__isnull=True, target__isnull=True)
                    | models.Q(tag__isnull=True, user__isnull=False, target__isnull=True)
                    | models.Q(tag__isnull=True, user__isnull=True, target__isnull=False)
                ),
                name="criteriareference_exactly_one",
            )
        ]

    def __str__(self) -> str:
        return f"{self.segment_id} uses tag={self.tag_id} user={self.user_id} seg={self.target_id}"
