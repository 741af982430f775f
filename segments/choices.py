from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _


class AddedHow(models.TextChoices):
    """How a contact came to be a member of a segment."""

    RULE = "rule", _("By rule")
    MANUAL = "manual", _("Manually")


class SyncOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class SyncStart(models.TextChoices):
    """What started a background sync (segments.jobs titles its job after it)."""

    BY_HAND = "by_hand", _("Sync button or API")
    SCHEDULE = "schedule", _("Scheduled sync")
    MADE_LIVE = "made_live", _("Segment made live")
    NEW_CRITERIA = "new_criteria", _("Live segment's criteria changed")
    SWEEP = "sweep", _("Relative dates moved on")


class ReferenceKind(models.TextChoices):
    """What a segment's criteria can point at by id (and so must not disappear)."""

    TAG = "tag", _("Tag")
    USER = "user", _("User")
    SEGMENT = "segment", _("Segment")


class SegmentMode(models.TextChoices):
    """How a segment's membership follows its criteria."""

    MANUAL = "manual", _("Manual")  # changes at each Sync (the user guide's segments)
    LIVE = "live", _("Live")  # follows changes to contacts within seconds


class SyncSchedule(models.TextChoices):
    """How often a manual segment syncs on its own (segments.schedule); off by default."""

    OFF = "off", _("Off")
    EVERY_15_MINUTES = "every_15_minutes", _("Every 15 minutes")
    HOURLY = "hourly", _("Hourly")
    DAILY = "daily", _("Daily")

    @property
    def interval(self) -> timedelta | None:
        """Time between two scheduled syncs; None when off."""
        return SYNC_INTERVALS.get(self)


SYNC_INTERVALS = {
    SyncSchedule.EVERY_15_MINUTES: timedelta(minutes=15),
    SyncSchedule.HOURLY: timedelta(hours=1),
    SyncSchedule.DAILY: timedelta(days=1),
}


class MembershipChangeKind(models.TextChoices):
    JOINED = "joined", _("Joined")
    LEFT = "left", _("Left")


class ChangeReason(models.TextChoices):
    """What changed a membership: a sync run, a live update or someone by hand."""

    SYNC = "sync", _("Sync")
    LIVE = "live", _("Live update")
    MANUAL = "manual", _("By hand")
