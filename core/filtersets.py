"""What every record list offers: search, owner and ordering (tags adds its Tag filter)."""

import datetime

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from core.widgets import FastSelect


def search_words(queryset: QuerySet, fields: list[str], value: str) -> QuerySet:
    """Every word of `value` must appear (case-insensitively) in one of `fields`."""
    for word in value.split()[:5]:
        condition = Q()
        for field in fields:
            condition |= Q(**{f"{field}__icontains": word})
        queryset = queryset.filter(condition)
    return queryset


# The largest id a database column holds (a 64-bit signed integer).
BIGINT_MAX = 2**63 - 1


def as_id(text: str) -> int | None:
    """The id `text` spells (decimal digits, 1 to BIGINT_MAX), or None when no row can have it.

    The length is checked first: int() refuses strings of over 4,300 digits (ValueError).
    """
    digits = text.strip().lstrip("0")
    if not digits.isdecimal() or len(digits) > len(str(BIGINT_MAX)):
        return None
    number = int(digits)
    return number if number <= BIGINT_MAX else None


class IdFilter(django_filters.NumberFilter):
    """A record id: a whole number from 1 to BIGINT_MAX. NumberFilter alone accepts
    decimals and numbers past any id, which SQLite cannot bind (OverflowError, a 500)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGINT_MAX)
        super().__init__(*args, **kwargs)


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time, converted to UTC: PostgreSQL refuses the UTC offsets beyond
    ±15:59 that ISO 8601 allows (`?occurred_after=…-18:14` was a 500)."""

    def to_python(self, value):
        value = super().to_python(value)
        if value is None or timezone.is_naive(value):
            return value
        try:
            return value.astimezone(datetime.UTC)
        except OverflowError:  # e.g. 9999-12-31T23:00-05:00 is past year 9999 in UTC
            raise forms.ValidationError(
                "Enter a date and time between the years 1 and 9999.", code="invalid"
            ) from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class StableOrderingFilter(django_filters.OrderingFilter):
    """Sorting that ends on the primary key, so rows sharing a value never swap between pages."""

    def filter(self, qs: QuerySet, value) -> QuerySet:
        qs = super().filter(qs, value)
        if value:
            qs = qs.order_by(*qs.query.order_by, "-pk")
        return qs


class RecordFilterSet(django_filters.FilterSet):
    search_fields: list[str] = []
    search_placeholder = "Name, email or company"

    search = django_filters.CharFilter(
        method="filter_search",
        label="Search",
        widget=django_filters.widgets.forms.TextInput(
            attrs={"type": "search", "placeholder": "Name, email or company"}
        ),
    )
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all(), empty_label="Any owner")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form.fields["search"].widget.attrs["placeholder"] = self.search_placeholder
        for field in self.form.fields.values():
            # Plain selects only: subclasses (yes/no selects) format their values themselves.
            if type(field.widget) is forms.Select:
                field.widget = FastSelect(attrs=field.widget.attrs, choices=field.widget.choices)

    @property
    def count_qs(self) -> QuerySet:
        """The same rows as `qs`, in the form that counts fastest (a mixin may know better)."""
        return self.qs

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search_words(queryset, self.search_fields, value)
