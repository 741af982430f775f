"""Tag usage counters: how many contacts, leads and deals carry each tag.

The counters are kept in the same transaction as the links (tags.services bumps them
as it attaches and detaches). Record apps call `lock_tags_on` and `forget_records`
before they delete a record, in the lock order written in contacts.services; it is
the one thing of tags that a record app below it needs. `forget_records` also removes
the record's links: link rows have no database foreign key (tags.models.TagLink), so
this is where a record's delete keeps them from outliving it.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, F, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from tags.locks import wait_for_link_writes
from tags.models import Tag
from tags.records import TAGGABLE_TYPES, taggable_type_for


def bump(tag_ids: Iterable[int], counter: str, delta: int) -> None:
    if delta:
        Tag.objects.filter(pk__in=list(tag_ids)).update(**{counter: F(counter) + delta})


def lock_tags_on(model: type[Model], records: QuerySet) -> None:
    """Lock the tags on `records`, by id: a delete takes them before it locks the records.

    First it waits for bulk link writes in progress to commit (tags.locks), so
    that it sees their links and locks their tags too.
    """
    wait_for_link_writes(model)
    links = taggable_type_for(model).link_model.objects.filter(
        record__in=records.order_by().values("pk")
    )
    tags = Tag.objects.select_for_update(no_key=True).filter(pk__in=links.values("tag_id"))
    list(tags.order_by("pk").values_list("pk", flat=True))


@transaction.atomic
def forget_records(model: type[Model], records: QuerySet) -> None:
    """Before records are deleted: remove their links and take them off the usage counters.

    Exact only once their tags and then the records are locked (lock order:
    contacts.services; lock_tags_on has also waited for bulk link writes in progress).
    """
    taggable = taggable_type_for(model)
    links = taggable.link_model.objects.filter(record__in=records.order_by().values("pk"))
    per_tag = (
        links.values("tag_id")
        .annotate(n=Count("*"))
        .order_by("tag_id")  # counters are updated in id order, as _lock_in_order takes them
    )
    for row in per_tag:
        bump([row["tag_id"]], taggable.counter, -row["n"])
    links.delete()


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
            .annotate(n=Count("*"))
            .values("n")
        )
        updates[taggable.counter] = Coalesce(Subquery(counted), 0)
    tags.update(**updates)
