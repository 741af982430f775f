"""Tag usage counters: how many contacts, leads and deals carry each tag.

The counters are kept in the same transaction as the links (tags.services bumps them
as it attaches and detaches). Record apps call `lock_tags_on` and `forget_records`
before they delete a record, in the lock order written in contacts.services; it is
the one thing of tags that a record app below it needs.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, F, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from tags.models import Tag
from tags.records import TAGGABLE_TYPES, taggable_type_for


def bump(tag_ids: Iterable[int], counter: str, delta: int) -> None:
    if delta:
        Tag.objects.filter(pk__in=list(tag_ids)).update(**{counter: F(counter) + delta})


def lock_tags_on(model: type[Model], records: QuerySet) -> None:
    """Lock the tags on `records`, by id: a delete takes them before it locks the records."""
    links = taggable_type_for(model).link_model.objects.filter(
        record__in=records.order_by().values("pk")
    )
    tags = Tag.objects.select_for_update(no_key=True).filter(pk__in=links.values("tag_id"))
    list(tags.order_by("pk").values_list("pk", flat=True))


@transaction.atomic
def forget_records(model: type[Model], records: QuerySet) -> None:
    """Before records are deleted: take their links off the usage counters.

    Exact only once their tags and then the records are locked (lock order: contacts.services).
    """
    taggable = taggable_type_for(model)
    per_tag = (
        taggable.link_model.objects.filter(record__in=records.order_by().values("pk"))
        .values("tag_id")
        .annotate(n=Count("id"))
        .order_by("tag_id")  # counters are updated in id order, as _lock_in_order takes them
    )
    for row in per_tag:
        bump([row["tag_id"]], taggable.counter, -row["n"])


@transaction.atomic
def recount_tags(tag_ids: Iterable[int] | None = None) -> None:
    """Recompute usage counters from the link tables (after a merge, or to repair)."""
    tags = Tag.objects.all() if tag_ids is None else Tag.objects.filter(pk__in=list(tag_ids))
    updates = {}
    for taggable in TAGGABLE_TYPES.values():
        counted = (
            taggable.link_model.objects.filter(tag=OuterRef("pk"))
            .order_by()
            .values("tag")
            .annotate(n=Count("id"))
            .values("n")
        )
        updates[taggable.counter] = Coalesce(Subquery(counted), 0)
    tags.update(**updates)
