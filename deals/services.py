"""Saving and deleting deals, and telling live segments about the contacts a deal counts for.

A contact's deals are part of what segment criteria test (number of deals, open
deals, value won, a deal in a stage), so a deal created, edited or deleted makes
live segments re-evaluate its contact — and, when the deal moved, its former one.
"""

from django.db import transaction

from deals.models import Deal

# The ports of the layers above (README: layers): live segments re-evaluate the deal's
# contact, and a delete keeps tag usage counts exact.
from segments.notify import contacts_changed
from tags.counters import forget_records, lock_tags_on


@transaction.atomic
def save_deal(deal: Deal) -> Deal:
    """Save a new or edited deal; its contact, and the one it had before, are re-evaluated
    by live segments after the commit."""
    previous = (
        Deal.objects.filter(pk=deal.pk).values_list("contact_id", flat=True).first()
        if deal.pk
        else None
    )
    deal.save()
    contacts_changed({deal.contact_id, previous} - {None})
    return deal


@transaction.atomic
def delete_deal(deal: Deal) -> None:
    """Delete the deal, in the lock order of contacts.services (tags, then the row); its
    contact's deal counts change, so live segments re-evaluate it after the commit."""
    deals = Deal.objects.filter(pk=deal.pk)
    lock_tags_on(Deal, deals)
    list(deals.select_for_update().values_list("pk", flat=True))
    forget_records(Deal, deals)
    if deal.contact_id is not None:
        contacts_changed([deal.contact_id])
    deal.delete()
