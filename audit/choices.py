from django.db import models
from django.utils.translation import gettext_lazy as _


class Action(models.TextChoices):
    """What happened; the label is what the audit page says."""

    TAG_CREATED = "tag.created", _("Tag created")
    TAG_UPDATED = "tag.updated", _("Tag edited")
    TAG_MERGED = "tag.merged", _("Tag merged")
    TAG_DELETED = "tag.deleted", _("Tag deleted")
    TAG_BULK_ADDED = "tag.bulk_added", _("Tag added to records (bulk)")
    TAG_BULK_REMOVED = "tag.bulk_removed", _("Tag removed from records (bulk)")
    SEGMENT_CREATED = "segment.created", _("Segment created")
    SEGMENT_UPDATED = "segment.updated", _("Segment edited")
    SEGMENT_DELETED = "segment.deleted", _("Segment deleted")
    SEGMENT_SYNCED = "segment.synced", _("Segment synced")
    SEGMENT_SYNC_FAILED = "segment.sync_failed", _("Segment sync failed")
    SEGMENT_LIVE_FAILED = "segment.live_failed", _("Live updates stopped")
    SEGMENT_MEMBER_ADDED = "segment.member_added", _("Member added by hand")
    SEGMENT_MEMBER_REMOVED = "segment.member_removed", _("Member removed by hand")
    TOKEN_CREATED = "token.created", _("API token created")
    TOKEN_REVOKED = "token.revoked", _("API token revoked")


class TargetType(models.TextChoices):
    """What an entry is about. Each maps to one model (audit.services.TARGET_MODELS)."""

    TAG = "tag", _("Tag")
    SEGMENT = "segment", _("Segment")
    TOKEN = "token", _("API token")
