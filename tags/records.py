"""Which record types can carry tags, and how each is linked.

The single place that maps a record type ("contacts", "leads", "deals") to its
model, link model and usage counter; views, API, services and segments read it.
"""

from dataclasses import dataclass

from django.db.models import Model

from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead
from tags.models import ContactTag, DealTag, LeadTag, TagLink


@dataclass(frozen=True)
class TaggableType:
    key: str  # the path segment: /api/crm/<key>/...
    model: type[Model]
    link_model: type[TagLink]
    counter: str  # the Tag field counting this type's links

    @property
    def change_permission(self) -> str:
        opts = self.model._meta
        return f"{opts.app_label}.change_{opts.model_name}"

    @property
    def view_permission(self) -> str:
        opts = self.model._meta
        return f"{opts.app_label}.view_{opts.model_name}"


TAGGABLE_TYPES = {
    "contacts": TaggableType("contacts", Contact, ContactTag, "contacts_count"),
    "leads": TaggableType("leads", Lead, LeadTag, "leads_count"),
    "deals": TaggableType("deals", Deal, DealTag, "deals_count"),
}


def taggable_type_for(model: type[Model]) -> TaggableType:
    for taggable in TAGGABLE_TYPES.values():
        if taggable.model is model:
            return taggable
    raise LookupError(f"{model.__name__} records cannot carry tags.")
