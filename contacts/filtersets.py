from functools import cache

import django_filters
from django_countries import countries

from contacts.choices import LifecycleStage, Source
from contacts.models import Contact
from core.filtersets import RecordFilterSet, StableOrderingFilter
from core.widgets import FastSelect
from tags.filtersets import TaggedFilterSet  # tags compose onto records (README: layers)


@cache
def country_choices() -> list[tuple[str, str]]:
    """ISO 3166 codes and names, sorted once: django-countries sorts on every iteration."""
    return list(countries)


class ContactFilterSet(TaggedFilterSet, RecordFilterSet):
    search_fields = ["first_name", "last_name", "email", "company"]

    country = django_filters.ChoiceFilter(
        choices=country_choices, empty_label="Any country", widget=FastSelect
    )
    lifecycle_stage = django_filters.ChoiceFilter(
        choices=LifecycleStage.choices, empty_label="Any stage", label="Lifecycle stage"
    )
    source = django_filters.ChoiceFilter(choices=Source.choices, empty_label="Any source")
    ordering = StableOrderingFilter(
        fields=[
            ("last_name", "last_name"),
            ("email", "email"),
            ("company", "company"),
            ("country", "country"),
            ("lead_score", "lead_score"),
            ("created_at", "created_at"),
            ("last_activity_at", "last_activity_at"),
        ]
    )

    class Meta:
        model = Contact
        fields = [
            "search",
            "owner",
            "country",
            "lifecycle_stage",
            "source",
            "tag",
            "tag_match",
            "tagged",
        ]
