"""Deleting leads, with what must happen alongside.

Segment criteria test nothing of a lead, so lead writes tell live segments nothing;
a lead's deletion takes its tag links with it, so the tag usage counters drop first.
"""

from django.db import transaction

from leads.models import Lead

# The port of tags (README: layers): a delete keeps tag usage counts exact.
from tags.counters import forget_records, lock_tags_on


@transaction.atomic
def delete_lead(lead: Lead) -> None:
    """Delete the lead, in the lock order of contacts.services (tags, then the row)."""
    leads = Lead.objects.filter(pk=lead.pk)
    lock_tags_on(Lead, leads)
    list(leads.select_for_update().values_list("pk", flat=True))
    forget_records(Lead, leads)
    lead.delete()
