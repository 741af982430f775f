"""The Tag filter, written once and inherited by the contacts, leads and deals lists.

`?tag=<id or slug>` (repeatable) with `tag_match=all|any|none` (default all), and
`?tagged=false` for records with no tag at all.

Two SQL forms select the same rows, and which is fast depends on how common the
tag is — SQLite's planner cannot tell, so the usage counters choose:
- `EXISTS (link for this record and tag)`: the list is read in its sort order and
  each row probed; best for a page of a common tag (few probes per match);
- `id IN (SELECT record_id FROM link WHERE tag_id …)`: driven by the (tag, record)
  index; best for a rare tag, and always for counting (`count_qs`).
"""

import django_filters
from django import forms
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from drf_spectacular.plumbing import build_array_type, build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from tags.models import Tag
from tags.records import taggable_type_for

TAG_MATCH_CHOICES = [
    ("all", "All of"),
    ("any", "Any of"),
    ("none", "None of"),
]


class TagListField(forms.Field):
    """Tags named by id or slug; an unknown one is an error that names it."""

    widget = forms.SelectMultiple

    def to_python(self, value) -> list[Tag]:
        if value in (None, "", []):
            return []
        values = [value] if isinstance(value, str) else list(value)
        values = [str(v).strip() for v in values if str(v).strip()]
        # isdecimal, not isdigit: "²" is a digit that int() refuses.
        ids = {int(v) for v in values if v.isdecimal()}
        slugs = {v for v in values if not v.isdecimal()}
        # No slug holds NUL, and PostgreSQL cannot even compare one: such a value is unknown.
        searchable = {slug for slug in slugs if "\x00" not in slug}
        tags = list(Tag.objects.filter(Q(pk__in=ids) | Q(slug__in=searchable)))
        unknown = ids - {t.pk for t in tags} | slugs - {t.slug for t in tags}
        if unknown:
            listed = ", ".join(sorted(str(u) for u in unknown))
            # Values go in params: django-filter %-formats the message ("?tag=%" crashed it).
            raise forms.ValidationError(
                "Unknown tag: %(listed)s. Use a tag's id or slug.", params={"listed": listed}
            )
        return tags


@extend_schema_field(build_array_type(build_basic_type(OpenApiTypes.STR)))
class TagFilter(django_filters.Filter):
    """Repeatable: `?tag=7&tag=hot-lead` (ids or slugs)."""

    field_class = TagListField


class TaggedFilterSet(django_filters.FilterSet):
    tag = TagFilter(method="filter_tags", label="Tag")
    tag_match = django_filters.ChoiceFilter(
        choices=TAG_MATCH_CHOICES,
        method="keep",
        label="Match",
        empty_label="All of (default)",
    )
    tagged = django_filters.BooleanFilter(
        method="filter_tagged",
        label="Tagged",
        widget=forms.Select(
            choices=[("", "Tagged or not"), ("true", "Has tags"), ("false", "No tags")]
        ),
    )

    def keep(self, queryset: QuerySet, name: str, value) -> QuerySet:
        """tag_match only changes how `tag` filters."""
        return queryset

    # Below this share of the records, a tag's rows are found from the link index.
    RARE_TAG_SHARE = 0.02
    _counting = False

    @property
    def count_qs(self) -> QuerySet:
        """The same rows as `qs`, in the form that counts fastest."""
        self._counting = True
        try:
            return self.filter_queryset(self.queryset.all())
        finally:
            self._counting = False

    def _is_rare(self, queryset: QuerySet, tags: list[Tag]) -> bool:
        if self._counting:
            return True
        counter = taggable_type_for(queryset.model).counter
        carrying = sum(getattr(tag, counter) for tag in tags)
        # The highest id stands in for the row count: one index lookup, not a COUNT.
        highest = queryset.model.objects.aggregate(top=Max("pk"))["top"] or 0
        return carrying <= self.RARE_TAG_SHARE * highest

    def _carrying(self, queryset: QuerySet, tags: list[Tag]):
        """A condition for records carrying any of `tags`, in the faster form."""
        if self._is_rare(queryset, tags):
            return Q(pk__in=self._tagged_ids(queryset, tags))
        link_model = taggable_type_for(queryset.model).link_model
        return Exists(link_model.objects.filter(record=OuterRef("pk"), tag__in=tags))

    def _tagged_ids(self, queryset: QuerySet, tags: list[Tag] | None = None) -> QuerySet:
        """Ids of records carrying any of `tags` (any tag at all when None)."""
        links = taggable_type_for(queryset.model).link_model.objects.order_by()
        if tags is not None:
            links = links.filter(tag__in=tags)
        return links.values("record_id")

    def filter_tags(self, queryset: QuerySet, name: str, tags: list[Tag]) -> QuerySet:
        if not tags:
            return queryset
        match = self.form.cleaned_data.get("tag_match") or "all"
        if match == "any":
            return queryset.filter(self._carrying(queryset, tags))
        if match == "none":
            return queryset.exclude(pk__in=self._tagged_ids(queryset, tags))
        # All of: the rarest tag first, so the database narrows the rows soonest.
        counter = taggable_type_for(queryset.model).counter
        for tag in sorted(tags, key=lambda tag: getattr(tag, counter)):
            queryset = queryset.filter(self._carrying(queryset, [tag]))
        return queryset

    def filter_tagged(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        tagged = self._tagged_ids(queryset)
        return queryset.filter(pk__in=tagged) if value else queryset.exclude(pk__in=tagged)
