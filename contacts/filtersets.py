import django_filters
from django.db.models import Q, QuerySet
from django_countries import countries

from accounts.models import User
from contacts.choices import LifecycleStage, Source
from contacts.models import Contact


def search_words(queryset: QuerySet, fields: list[str], value: str) -> QuerySet:
    """Every word of `value` must appear (case-insensitively) in one of `fields`."""
    for word in value.split()[:5]:
        condition = Q()
        for field in fields:
            condition |= Q(**{f"{field}__icontains": word})
        queryset = queryset.filter(condition)
    return queryset


class RecordFilterSet(django_filters.FilterSet):
    """Search, owner and ordering: what every record list offers."""

    search_fields: list[str] = []

    search = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        widget=django_filters.widgets.forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, email or company"}
        ),
    )
    owner = django_filters.ModelChoiceFilter(
        queryset=User.objects.filter(is_active=True), empty_label="Any owner"
    )

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_words(queryset, self.search_fields, value)


class ContactFilterSet(RecordFilterSet):
    search_fields = ["first_name", "last_name", "email", "company"]

    country = django_filters.ChoiceFilter(choices=countries, empty_label="Any country")
    lifecycle_stage = django_filters.ChoiceFilter(
        choices=LifecycleStage.choices, empty_label="Any stage", label="Lifecycle stage"
    )
    source = django_filters.ChoiceFilter(choices=Source.choices, empty_label="Any source")
    ordering = django_filters.OrderingFilter(
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
        fields = ["search", "owner", "country", "lifecycle_stage", "source"]
