"""Which record types can carry tags, and how each is linked.

The single place that maps a record type ("contacts", "leads", "deals") to its
model, link model, usage counter and list FilterSet; views, API, services and
segments read it.
"""

from dataclasses import dataclass

from django.db.models import Model, Prefetch, QuerySet
from django.http import Http404
from django.utils.module_loading import import_string

from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead
from tags.models import ContactTag, DealTag, LeadTag, Tag, TagLink


@dataclass(frozen=True)
class TaggableType:
    key: str  # the path segment: /api/crm/<key>/...
    model: type[Model]
    link_model: type[TagLink]
    counter: str  # the Tag field counting this type's links
    # The FilterSet of the type's list page and API (a dotted path, imported when used:
    # the record app's filtersets import tags), so "all matching" means the same rows.
    filterset: str

    @property
    def filterset_class(self):
        return import_string(self.filterset)

    @property
    def change_permission(self) -> str:
        opts = self.model._meta
        return f"{opts.app_label}.change_{opts.model_name}"

    @property
    def view_permission(self) -> str:
        opts = self.model._meta
        return f"{opts.app_label}.view_{opts.model_name}"


TAGGABLE_TYPES = {
    "contacts": TaggableType(
        "contacts", Contact, ContactTag, "contacts_count", "contacts.filtersets.ContactFilterSet"
    ),
    "leads": TaggableType("leads", Lead, LeadTag, "leads_count", "leads.filtersets.LeadFilterSet"),
    "deals": TaggableType("deals", Deal, DealTag, "deals_count", "deals.filtersets.DealFilterSet"),
}


def taggable_or_404(key: str) -> TaggableType:
    """The record type named in a URL; a 404 (pages and API alike) for any other name."""
    taggable = TAGGABLE_TYPES.get(key)
    if taggable is None:
        raise Http404("No such record type.")
    return taggable


def taggable_type_for(model: type[Model]) -> TaggableType:
    for taggable in TAGGABLE_TYPES.values():
        if taggable.model is model:
            return taggable
    raise LookupError(f"{model.__name__} records cannot carry tags.")


def prefetch_tags(queryset: QuerySet) -> QuerySet:
    """Record querysets load their tags in one extra query, whatever the page size."""
    return queryset.prefetch_related(
        Prefetch("tags", queryset=Tag.objects.only("id", "name", "color"))
    )
