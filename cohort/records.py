"""Deleting a record of any type, with what must happen alongside it."""

from django.db import transaction
from django.db.models import Model

from contacts.models import Contact
from deals.models import Deal
from deals.services import deal_deleted
from segments.services import forget_contacts, lock_segments_of
from tags.records import TAGGABLE_TYPES
from tags.services import forget_records, lock_tags_on


@transaction.atomic
def delete_record(record: Model) -> None:
    """Delete `record`; its tag links and segment memberships go with it, so the tag
    usage counters and segment member counts drop first."""
    model = type(record)
    records = model.objects.filter(pk=record.pk)
    tagged = any(taggable.model is model for taggable in TAGGABLE_TYPES.values())
    # Tags and segments first, then the record: the order every writer takes them in (a link's
    # or membership's foreign key locks the record last, at commit), so no link or membership
    # can appear or vanish between the counting below and the delete.
    if tagged:
        lock_tags_on(model, records)
    if model is Contact:
        lock_segments_of(records)
    list(records.select_for_update().values_list("pk", flat=True))
    if model is Contact:
        forget_contacts(records)
    if tagged:
        forget_records(model, records)
    if model is Deal:
        deal_deleted(record)  # its contact's deal counts change: live segments re-evaluate it
    record.delete()
