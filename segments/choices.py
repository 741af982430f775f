from django.db import models
from django.utils.translation import gettext_lazy as _


class AddedHow(models.TextChoices):
    """How a contact came to be a member of a segment."""

    RULE = "rule", _("By rule")
    MANUAL = "manual", _("Manually")


class SyncOutcome(models.TextChoices):
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


class ReferenceKind(models.TextChoices):
    """What a segment's criteria can point at by id (and so must not disappear)."""

    TAG = "tag", _("Tag")
    USER = "user", _("User")
    SEGMENT = "segment", _("Segment")
