"""The Tag filter, written once and inherited by the contacts, leads and deals lists.

`?tag=<id or slug>` (repeatable) with `tag_match=all|any|none` (default all), and
`?tagged=false` for records with no tag at all. Each is an `id IN (SELECT record_id
FROM <link table> WHERE tag_id …)`: the database can drive the query from the
(tag, record) index, so a rare tag costs as little as a common one — a correlated
EXISTS made SQLite probe every contact to count the matches of a rare tag.
"""

import django_filters
from django import forms
from django.db.models import Q, QuerySet

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
        ids = {int(v) for v in values if v.isdigit()}
        slugs = {v for v in values if not v.isdigit()}
        tags = list(Tag.objects.filter(Q(pk__in=ids) | Q(slug__in=slugs)))
        unknown = ids - {t.pk for t in tags} | slugs - {t.slug for t in tags}
        if unknown:
            listed = ", ".join(sorted(str(u) for u in unknown))
            raise forms.ValidationError(f"Unknown tag: {listed}. Use a tag's id or slug.")
        return tags


class TagFilter(django_filters.Filter):
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
            return queryset.filter(pk__in=self._tagged_ids(queryset, tags))
        if match == "none":
            return queryset.exclude(pk__in=self._tagged_ids(queryset, tags))
        for tag in tags:
            queryset = queryset.filter(pk__in=self._tagged_ids(queryset, [tag]))
        return queryset

    def filter_tagged(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        tagged = self._tagged_ids(queryset)
        return queryset.filter(pk__in=tagged) if value else queryset.exclude(pk__in=tagged)
