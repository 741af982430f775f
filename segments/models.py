"""Segments: saved criteria over contacts, their members, manual removals and sync runs.

Membership is materialised (one row per segment and contact) and changes only
by a sync (segments.sync), a live update (segments.live) or a manual add/remove
(segments.services); each of them records every change as a MembershipChange.
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from segments.choices import (
    AddedHow,
    ChangeReason,
    MembershipChangeKind,
    SegmentMode,
    SyncOutcome,
    SyncSchedule,
)

LIVE_SCHEDULE_MESSAGE = (
    "Live segments follow changes on their own: set the scheduled sync to Off "
    "or make the segment manual."
)


def empty_criteria() -> dict:
    return {"match": "all", "conditions": []}


class Segment(models.Model):
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    # The criteria tree, as validated and normalised by segments.criteria.
    criteria = models.JSONField(_("filter criteria"), default=empty_criteria)
    # Live: membership follows changes to contacts (segments.live); manual: it changes at Sync.
    mode = models.CharField(
        _("mode"), max_length=10, choices=SegmentMode.choices, default=SegmentMode.MANUAL
    )
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
    # Manual segments only: how often they sync on their own (segments.schedule).
    sync_schedule = models.CharField(
        _("scheduled sync"),
        max_length=20,
        choices=SyncSchedule.choices,
        default=SyncSchedule.OFF,
    )
    # When the scheduled sync is next due; None while the schedule is off.
    next_sync_at = models.DateTimeField(_("next scheduled sync"), null=True, editable=False)
    # Live segments: why live updates stopped, and since when (None: they run). Set by
    # segments.live when the criteria fail; cleared by an edit of them or a successful sync.
    live_error = models.TextField(_("live update error"), blank=True, editable=False)
    live_failed_at = models.DateTimeField(_("live updates stopped"), null=True, editable=False)

    class Meta:
        ordering = [Lower("name"), "id"]
        default_permissions = ()
        permissions = [
            ("view_segment", "view crm segments"),
            ("manage_segment", "manage crm segments"),
            # A file of members outlives the page: its own permission (#15 M5).
            ("export_segment", "export crm segments"),
        ]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="segment_name_unique_ci",
                violation_error_message="A segment with this name already exists.",
            ),
            # Live segments follow changes on their own: a schedule would only repeat that.
            models.CheckConstraint(
                condition=(
                    ~models.Q(mode=SegmentMode.LIVE) | models.Q(sync_schedule=SyncSchedule.OFF)
                ),
                name="segment_live_unscheduled",
                violation_error_message=LIVE_SCHEDULE_MESSAGE,
            ),
        ]
        indexes = [
            # "Is any segment live?", asked after every change to contacts: a tiny index.
            models.Index(fields=["mode"], condition=models.Q(mode="live"), name="segment_live_idx"),
            # The scheduler's "which syncs are due?", every minute: only scheduled segments.
            models.Index(
                fields=["next_sync_at"],
                condition=~models.Q(sync_schedule=SyncSchedule.OFF),
                name="segment_sync_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class SegmentMember(models.Model):
    """A contact in a segment: by rule (a sync or live update) or added by hand.

    Keyed by (segment, contact), with no surrogate id: that key's index is the one every
    write and lookup needs. No foreign key constraint in the database (db_constraint=False):
    a sync writes up to a row per contact, and PostgreSQL checks each constraint with a
    row lock on the contact and the segment, which cost more than the insert itself.
    The application keeps the rows honest in one place: segments.notify.forget_contacts
    deletes a contact's rows before the contact goes, and every writer holds the segment's
    row lock (segments.services, sync, live); `manage.py check_integrity` finds strays.
    """

    pk = models.CompositePrimaryKey("segment", "contact")
    segment = models.ForeignKey(
        Segment,
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,
        db_constraint=False,
    )
    # Deleted by segments.notify.forget_contacts, not by the ORM: it finds them through
    # the few segments by their key, where a CASCADE would need an index on contact_id.
    contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.DO_NOTHING,
        related_name="segment_memberships",
        db_index=False,
        db_constraint=False,
    )
    added_how = models.CharField(max_length=10, choices=AddedHow.choices)
    added_at = models.DateTimeField()

    class Meta:
        # Permissions are the segment's own: view and manage (see Segment.Meta).
        default_permissions = ()
        ordering = ["-added_at", "-contact_id"]
        indexes = [
            # A segment's member list, newest first, without sorting.
            models.Index(
                fields=["segment", "added_at", "contact"], name="segmentmember_listing_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.segment_id} ({self.added_how})"


class SegmentRemoval(models.Model):
    """A contact removed by hand: no sync brings it back until it is added by hand again.

    Keyed and constrained like SegmentMember, for the same reasons."""

    pk = models.CompositePrimaryKey("segment", "contact")
    segment = models.ForeignKey(
        Segment,
        on_delete=models.CASCADE,
        related_name="removals",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.DO_NOTHING,
        related_name="segment_removals",
        db_index=False,
        db_constraint=False,
    )
    removed_at = models.DateTimeField()
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        default_permissions = ()
        ordering = ["-removed_at", "-contact_id"]

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


class MembershipChange(models.Model):
    """A contact joining or leaving a segment, and why: a sync run, a live update or by hand.

    Written in the same transaction as the membership change itself, set-based for
    syncs and live updates (segments.membership); the segment page shows the latest.

    Its segment, contact, run and author have no foreign key constraint in the database
    (db_constraint=False): a sync writes one row per join or leave (300,000 for a big
    segment's first fill) and PostgreSQL checks each constraint with a query per row,
    which doubled a sync's time. Rows are written only beside the membership rows they
    record; they go with their segment or run through the ORM's CASCADE, and with their
    contact in segments.notify.forget_contacts (as SegmentMember's rows do).
    """

    segment = models.ForeignKey(
        Segment,
        on_delete=models.CASCADE,
        related_name="changes",
        db_index=False,
        db_constraint=False,
    )
    # Its index serves a contact's history and the delete of a contact's rows.
    contact = models.ForeignKey(
        "contacts.Contact",
        on_delete=models.DO_NOTHING,
        related_name="segment_changes",
        db_constraint=False,
    )
    change = models.CharField(max_length=6, choices=MembershipChangeKind.choices)
    changed_at = models.DateTimeField()
    reason = models.CharField(max_length=6, choices=ChangeReason.choices)
    # The run that made the change, when a sync did; runs go only with their segment.
    sync_run = models.ForeignKey(
        SyncRun,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="changes",
        db_index=False,
        db_constraint=False,
    )
    # Who, for a change by hand.
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        # A trigger call per row (169 ms per 300,000), for a column a sync leaves empty.
        db_constraint=False,
    )

    class Meta:
        default_permissions = ()
        ordering = ["-changed_at", "-id"]
        indexes = [
            # A segment's recent changes, newest first, read backwards from the end.
            models.Index(
                fields=["segment", "changed_at", "id"], name="membershipchange_recent_idx"
            ),
            # The contacts a sync run changed, in batches (live segments that use it follow).
            models.Index(fields=["sync_run", "id"], name="membershipchange_run_idx"),
            # Only changes by hand name a person: the index stays as small as they are.
            models.Index(
                fields=["changed_by"],
                condition=models.Q(changed_by__isnull=False),
                name="membershipchange_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id} {self.change} {self.segment_id} ({self.reason})"


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
