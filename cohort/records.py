"""Deleting a record of any type, with what must happen alongside it."""

from django.db import transaction
from django.db.models import Model

from contacts.models import Contact
from segments.services import forget_contacts
from tags.records import TAGGABLE_TYPES
from tags.services import forget_records


@transaction.atomic
def delete_record(record: Model) -> None:
    """Delete `record`; its tag links and segment memberships go with it, so the tag
    usage counters and segment member counts drop first."""
    model = type(record)
    if model is Contact:
        forget_contacts(Contact.objects.filter(pk=record.pk))
    if any(taggable.model is model for taggable in TAGGABLE_TYPES.values()):
        forget_records(model, model.objects.filter(pk=record.pk))
    record.delete()
