import django_filters

from activities.choices import ActivityKind
from activities.models import Activity
from core.filtersets import IsoDateTimeFilter, StableOrderingFilter


class ActivityFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ActivityKind.choices)
    occurred_after = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")
    ordering = StableOrderingFilter(fields=[("occurred_at", "occurred_at")])

    class Meta:
        model = Activity
        fields = ["kind", "contact", "lead", "deal", "owner"]
