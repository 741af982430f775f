"""Tag usage counters: how many contacts, leads and deals carry each tag.

The counters are kept in the same transaction as the links (tags.services bumps them
as it attaches and detaches). Record apps call `lock_tags_on` and `forget_records`
before they delete a record, in the lock order written in contacts.services; it is
the one thing of tags that a record app below it needs. `forget_records` also removes
the record's links: link rows have no database foreign key (tags.models.TagLink), so
this is where a record's delete keeps them from outliving it.
"""

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, F, Model, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from tags.models import Tag
from tags.records import TAGGABLE_TYPES, taggable_type_for


def bump(tag_ids: Iterable[int], counter: str, delta: int) -> None:
    if delta:
        Tag.objects.filter(pk__in=list(tag_ids)).update(**{counter: F(counter) + delta})


def lock_tags_on(model: type[Model], records: QuerySet) -> None:
    """Lock the tags on `records`, by id: a delete takes them before it locks the records.

    First it waits for bulk link writes in progress to commit (_link_writes_lock), so
    that it sees their links and locks their tags too.
    """
    _link_writes_lock(model, shared=False)
    links = taggable_type_for(model).link_model.objects.filter(
        record__in=records.order_by().values("pk")
    )
    tags = Tag.objects.select_for_update(no_key=True).filter(pk__in=links.values("tag_id"))
    list(tags.order_by("pk").values_list("pk", flat=True))


# The first key of the advisory locks below (PostgreSQL): "tag links of a record type".
LINK_WRITES_LOCK = 0x7461_6773  # "tags"


def _link_writes_lock(model: type[Model], *, shared: bool) -> None:
    """Bulk link writes (shared) against record deletes (exclusive), per record type.

    A bulk INSERT … SELECT reads its records without locking them (a foreign key used to,
    100,000 row locks): a record deleted meanwhile would keep a link. So a delete first
    waits for the bulk writes in progress to commit, then locks the tags on its record
    (theirs included); a bulk write starting later waits for the delete and no longer
    sees the record. Both take this lock before any tag lock: taken later, a delete
    holding it could wait for a tag that a bulk write holds while waiting for it.
    Single attaches lock their record row instead. SQLite runs one writer at a time and
    needs neither.
    """
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    key = list(TAGGABLE_TYPES).index(taggable_type_for(model).key)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [LINK_WRITES_LOCK, key])


def hold_off_deletes(model: type[Model]) -> None:
    """Taken by a bulk link write of `model`'s records, before its tag locks."""
    _link_writes_lock(model, shared=True)


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
