"""The Tag filter, written once and inherited by the contacts, leads and deals lists.

`?tag=<id or slug>` (repeatable) with `tag_match=all|any|none` (default all), and
`?tagged=false` for records with no tag at all.

In list order (newest first, the default), "all of" joins the link rows of each tag
and sorts by the link's copy of the record's created_at: a page is a short range of
the link index (tag, record_created_at DESC, record DESC), and the planner merges the
tags' ranges for two or more (`_join_in_list_order`). Other orders use two SQL forms
that select the same rows; which is fast depends on how common the tag is — SQLite's
planner cannot tell, so the usage counters choose:
- `EXISTS (link for this record and tag)`: the list is read in its sort order and
  each row probed; best for a page of a common tag (few probes per match);
- `id IN (SELECT record_id FROM link WHERE tag_id …)`: driven by the (tag, record)
  index; best for a rare tag, and always for counting (`count_qs`).
"""

import django_filters
from django import forms
from django.db import connection
from django.db.models import Exists, F, FilteredRelation, Max, OuterRef, Q, QuerySet
from drf_spectacular.plumbing import build_array_type, build_basic_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core.filtersets import as_id
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
        ids = {v: as_id(v) for v in values if v.isdecimal()}
        slugs = {v for v in values if not v.isdecimal()}
        # No slug holds NUL, and PostgreSQL cannot even compare one: such a value is unknown.
        searchable = {slug for slug in slugs if "\x00" not in slug}
        wanted = {pk for pk in ids.values() if pk is not None}
        tags = list(Tag.objects.filter(Q(pk__in=wanted) | Q(slug__in=searchable)))
        found = {t.pk for t in tags}
        unknown = {v for v, pk in ids.items() if pk not in found} | slugs - {t.slug for t in tags}
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
    _joined_tags = 0  # how many tags _join_in_list_order joined
    # The orderings served by the link index: none asked (the models' default) or newest.
    LINK_ORDERINGS = (None, (), ("-created_at",))
    # The list-order columns of the first joined link, as annotations the page sorts on
    # (core.paging keys its cursors on them).
    LIST_ORDER = ("-tag_list_created", "-tag_list_record")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        self._joined_tags = 0
        queryset = super().filter_queryset(queryset)
        if self._joined_tags:
            queryset = queryset.annotate(
                tag_list_created=F("tag_link_0__record_created_at"),
                tag_list_record=F("tag_link_0__record_id"),
            ).order_by(*self.LIST_ORDER)
        return queryset

    def _only_tags(self) -> list[Tag]:
        """The tags, rarest first, when "carrying all of them" (or one, not "none of") is
        the only filter on an unfiltered base queryset; [] otherwise."""
        if not self.is_valid() or self.queryset.query.where:
            return []
        data = self.form.cleaned_data
        tags = list(data.get("tag") or [])
        others = {
            name: value
            for name, value in data.items()
            if name not in ("tag", "tag_match", "ordering") and value not in (None, "", [])
        }
        match = data.get("tag_match") or "all"
        if not tags or others or match == "none" or (match == "any" and len(tags) > 1):
            return []
        counter = taggable_type_for(self.queryset.model).counter
        return sorted(tags, key=lambda tag: getattr(tag, counter))

    def _links_carrying(self, tags: list[Tag]) -> QuerySet:
        """One link per record carrying all of `tags`: the rarest tag's links whose record
        has the others too. Links exist only beside their record (tags.services), so
        these are the records, found without reading one."""
        link_model = taggable_type_for(self.queryset.model).link_model
        first, *others = tags
        links = link_model.objects.filter(tag=first)
        for tag in others:
            links = links.filter(
                Exists(link_model.objects.filter(record_id=OuterRef("record_id"), tag=tag))
            )
        return links

    @property
    def known_count(self) -> int | None:
        """The exact count when the only filter is one tag: its usage counter."""
        tags = self._only_tags()
        if len(tags) != 1:
            return None
        return getattr(tags[0], taggable_type_for(self.queryset.model).counter)

    @property
    def anchor_qs(self) -> QuerySet | None:
        """When tags are the only filter and the list is in their order: their links, with
        the list-order keys (core.paging reads a later page's first key from them, an
        index-only range, without touching a record)."""
        tags = self._only_tags()
        if not tags or not self._in_list_order():
            return None
        created, record = (term.lstrip("-") for term in self.LIST_ORDER)
        return self._links_carrying(tags).annotate(
            **{created: F("record_created_at"), record: F("record_id")}
        )

    def _in_list_order(self) -> bool:
        ordering = self.form.cleaned_data.get("ordering")
        return not self._counting and (tuple(ordering) if ordering else None) in (
            self.LINK_ORDERINGS
        )

    def _join_in_list_order(self, queryset: QuerySet, tags: list[Tag]) -> QuerySet:
        """Records carrying every one of `tags` (rarest first), in the first one's list order.

        The rarest tag's links are joined (the list order is theirs: an index range read
        backwards); each other tag is a probe of the link key per row (EXISTS). A page
        then stops after its rows: a join of every tag's links was planned as a hash of
        all of them at a million contacts (230 ms for a page of two common tags).
        """
        link_model = taggable_type_for(queryset.model).link_model
        name = link_model._meta.get_field("record").related_query_name()
        first, *others = tags
        queryset = queryset.annotate(
            tag_link_0=FilteredRelation(name, condition=Q(**{f"{name}__tag": first}))
        ).filter(tag_link_0__tag=first)
        for tag in others:
            queryset = queryset.filter(
                Exists(link_model.objects.filter(record=OuterRef("pk"), tag=tag))
            )
        self._joined_tags = len(tags)
        return queryset

    @property
    def count_qs(self) -> QuerySet:
        """The same rows as `qs`, in the form that counts fastest: the links alone when
        tags are the only filter."""
        tags = self._only_tags()
        if tags:
            return self._links_carrying(tags)
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

    def _carrying_none(self, queryset: QuerySet, tags: list[Tag] | None) -> Q:
        """A condition for records carrying none of `tags` (no tag at all when None).

        An anti-join (NOT EXISTS) on PostgreSQL: NOT IN (subquery) is planned as a subplan
        that, once the links outgrow work_mem, is probed without a hash for every record
        (`?tagged=false` took over a minute at 300,000 contacts). SQLite answers NOT IN
        from a temporary index built once, which beats a probe per record there.
        """
        if connection.vendor != "postgresql":
            return ~Q(pk__in=self._tagged_ids(queryset, tags))
        links = taggable_type_for(queryset.model).link_model.objects.filter(record=OuterRef("pk"))
        if tags is not None:
            links = links.filter(tag__in=tags)
        return ~Exists(links)

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
        counter = taggable_type_for(queryset.model).counter
        if (match == "all" or (len(tags) == 1 and match == "any")) and self._in_list_order():
            rarest_first = sorted(tags, key=lambda tag: getattr(tag, counter))
            return self._join_in_list_order(queryset, rarest_first)
        if match == "any":
            return queryset.filter(self._carrying(queryset, tags))
        if match == "none":
            return queryset.filter(self._carrying_none(queryset, tags))
        # All of: the rarest tag first, so the database narrows the rows soonest.
        for tag in sorted(tags, key=lambda tag: getattr(tag, counter)):
            queryset = queryset.filter(self._carrying(queryset, [tag]))
        return queryset

    def filter_tagged(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        if not value:
            return queryset.filter(self._carrying_none(queryset, None))
        return queryset.filter(pk__in=self._tagged_ids(queryset))
