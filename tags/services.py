"""Creating, attaching, detaching, bulk-tagging, merging and deleting tags.

Every function runs in one transaction and keeps the usage counters on Tag in
step with the link rows, so the tags page never counts links per request.
Heavy work (bulk, merge) is set-based SQL: one INSERT … SELECT or DELETE per tag.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Model, QuerySet
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from audit.choices import Action
from audit.services import record_event
from contacts.models import Contact
from segments.notify import any_live_segment, contacts_changed
from segments.references import SegmentInUse, ensure_unused
from tags.colors import palette_color_for
from tags.counters import bump, recount_tags
from tags.locks import hold_off_deletes
from tags.models import Tag, validate_tag_name
from tags.names import name_key, normal_name
from tags.records import TAGGABLE_TYPES, TaggableType, taggable_type_for

# What a tag edit may change, as the audit log reports it (before → after).
AUDITED_TAG_FIELDS = ("name", "color", "description")


class TagError(Exception):
    """A tag operation that cannot be done as asked; the message says why."""


class TagInUse(TagError):
    """The tag is named in a segment's filter criteria, so it cannot disappear."""


def _ensure_not_in_criteria(tag: Tag) -> None:
    try:
        ensure_unused("tag", tag)
    except SegmentInUse as error:
        raise TagInUse(str(error)) from error


def why_tag_must_stay(tag: Tag) -> str | None:
    """The reason the tag cannot be deleted or merged away, or None when it can."""
    try:
        _ensure_not_in_criteria(tag)
    except TagInUse as error:
        return str(error)
    return None


def _unique_slug(name: str, exclude_pk: int | None = None) -> str:
    base = slugify(name, allow_unicode=True)[:50] or "tag"
    slug, n = base, 1
    taken = Tag.objects.exclude(pk=exclude_pk)
    while taken.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def find_tag_by_name(name: str) -> Tag | None:
    """The tag that `name` names: the same ignoring case, width and invisible characters."""
    if "\x00" in name:
        return None  # no tag holds NUL, and PostgreSQL cannot even compare one
    return Tag.objects.filter(name_key=name_key(name)).first()


def _check_name_free(name: str, exclude_pk: int | None = None) -> None:
    try:
        validate_tag_name(name)  # before the query: PostgreSQL cannot compare a NUL
    except ValidationError as error:
        raise ValidationError({"name": error.messages}) from error
    existing = Tag.objects.filter(name_key=name_key(name)).exclude(pk=exclude_pk).first()
    if existing is not None:
        raise ValidationError(
            {"name": [f"A tag named “{existing.name}” already exists; names ignore case."]}
        )


@transaction.atomic
def create_tag(
    name: str, *, color: str | None = None, description: str = "", user: User | None = None
) -> Tag:
    """A new tag; the name is stored in NFKC, trimmed, and must be unique ignoring case,
    width and invisible characters (tags.names)."""
    name = normal_name(name)
    _check_name_free(name)
    tag = Tag(
        name=name,
        slug=_unique_slug(name),
        color=color or palette_color_for(Tag.objects.count()),
        description=description.strip(),
        created_by=user,
    )
    tag.full_clean()
    _save_named(tag)
    record_event(
        user,
        Action.TAG_CREATED,
        tag,
        {"name": tag.name, "color": tag.color, "description": tag.description},
    )
    return tag


def _save_named(tag: Tag) -> None:
    """Save; a concurrent request that took the same name first is a field error, not a 500."""
    try:
        with transaction.atomic():
            tag.save()
    except IntegrityError as error:
        raise ValidationError(
            {"name": [f"A tag named “{tag.name}” already exists; names ignore case."]}
        ) from error


@transaction.atomic
def update_tag(
    tag: Tag,
    *,
    name: str | None = None,
    color: str | None = None,
    description: str | None = None,
    user: User | None = None,
) -> Tag:
    """Change what is given; the audit log records what actually changed, if anything."""
    before = {field: getattr(tag, field) for field in AUDITED_TAG_FIELDS}
    if name is not None and normal_name(name) != tag.name:
        tag.name = normal_name(name)
        _check_name_free(tag.name, exclude_pk=tag.pk)
        tag.slug = _unique_slug(tag.name, exclude_pk=tag.pk)
    if color is not None:
        tag.color = color
    if description is not None:
        tag.description = description.strip()
    tag.full_clean()
    _save_named(tag)
    changes = {
        field: {"before": before[field], "after": getattr(tag, field)}
        for field in AUDITED_TAG_FIELDS
        if getattr(tag, field) != before[field]
    }
    if changes:
        record_event(user, Action.TAG_UPDATED, tag, {"changes": changes})
    return tag


@transaction.atomic
def attach_tag(record: Model, tag: Tag) -> bool:
    """Attach `tag` to `record`; False when it was already there (nothing changes).

    TagError when the tag or the record was deleted (or the tag merged) meanwhile.
    """
    taggable = taggable_type_for(type(record))
    _lock_in_order(tag, no_key=True)
    # Then the record, as the delete services do after the tags: a deleted one is refused
    # here. The lock reads its created_at, which the link carries (tags.models.TagLink).
    locked = type(record).objects.select_for_update(no_key=True).filter(pk=record.pk)
    record_created_at = locked.values_list("created_at", flat=True).first()
    if record_created_at is None:
        raise TagError(f"This {record._meta.verbose_name} no longer exists; it was deleted.")
    # One statement instead of get_or_create's four (SELECT, SAVEPOINT, INSERT, RELEASE):
    # this is the API's busiest write.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {taggable.link_model._meta.db_table} "
            f"(tag_id, record_id, record_created_at, created_at) "
            f"VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [tag.pk, record.pk, record_created_at, timezone.now()],
        )
        created = cursor.rowcount == 1
    if created:
        bump([tag.pk], taggable.counter, 1)
        if taggable.model is Contact:
            contacts_changed([record.pk])  # live segments may test the tag
    return created


@transaction.atomic
def detach_tag(record: Model, tag: Tag) -> bool:
    """Detach `tag` from `record`; False when it was not attached. The tag itself stays."""
    taggable = taggable_type_for(type(record))
    try:
        _lock_in_order(tag, no_key=True)
    except TagError:
        return False  # deleted or merged away meanwhile, and its links with it
    deleted, _ = taggable.link_model.objects.filter(record=record, tag=tag).delete()
    bump([tag.pk], taggable.counter, -deleted)
    if deleted and taggable.model is Contact:
        contacts_changed([record.pk])  # live segments may test the tag
    return bool(deleted)


@dataclass(frozen=True)
class AttachResult:
    """What attach_tag_by_ids did: `created` False when the link was already there."""

    record_found: bool
    tag_found: bool
    created: bool
    # The record's tags afterwards as (id, name, color), in Tag's order; empty if not found.
    tags: list[tuple[int, str, str]]


def _link_columns(taggable: TaggableType) -> list[str]:
    """The link row's columns beyond (record_id, tag_id), kept in step with attach_tag:
    `created_at` (now) and, when the link table has it, the record's `record_created_at`."""
    columns = {field.column for field in taggable.link_model._meta.concrete_fields}
    return ["created_at", *(["record_created_at"] if "record_created_at" in columns else [])]


def attach_tag_by_ids(taggable: TaggableType, record_id: int, tag_id: int) -> AttachResult:
    """attach_tag for the API's busiest write: by ids, without loading either row.

    Same rule, locks and counters as attach_tag (tag row, then record row, both FOR NO
    KEY UPDATE; link inserted unless there; counter bumped only when it was; live
    segments told), and the record's tags for the answer. On PostgreSQL it is one
    statement, in autocommit unless the caller holds a transaction.
    """
    if connection.vendor == "postgresql":
        found, tag_found, created, tags = _attach_by_ids_postgresql(taggable, record_id, tag_id)
    else:
        found, tag_found, created, tags = _attach_by_ids_portable(taggable, record_id, tag_id)
    if created and taggable.model is Contact:
        contacts_changed([record_id])  # live segments may test the tag
    return AttachResult(found, tag_found, created, tags)


def _attach_by_ids_postgresql(taggable: TaggableType, record_id: int, tag_id: int):
    link = taggable.link_model._meta.db_table
    records = taggable.model._meta.db_table
    tags = Tag._meta.db_table
    extra = _link_columns(taggable)
    values = {"created_at": "%(now)s", "record_created_at": "r.created_at"}
    # The record's lock waits for the tag's (r joins t): the order of _lock_in_order and
    # the delete services. The answer is the links as the statement found them plus the
    # new one (a statement does not see its own inserts).
    sql = f"""
        WITH t AS MATERIALIZED (
            SELECT id FROM {tags} WHERE id = %(tag)s FOR NO KEY UPDATE
        ), r AS MATERIALIZED (
            SELECT c.id, c.created_at FROM {records} c, t WHERE c.id = %(record)s
            FOR NO KEY UPDATE OF c
        ), ins AS (
            INSERT INTO {link} (record_id, tag_id, {", ".join(extra)})
            SELECT r.id, %(tag)s, {", ".join(values[column] for column in extra)} FROM r
            ON CONFLICT DO NOTHING RETURNING tag_id
        ), bumped AS (
            UPDATE {tags} SET {taggable.counter} = {taggable.counter} + 1
            WHERE id = (SELECT tag_id FROM ins) RETURNING id
        )
        SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM r), (SELECT count(*) FROM ins),
            x.id, x.name, x.color
        FROM (SELECT 1) AS one LEFT JOIN LATERAL (
            SELECT g.id, g.name, g.color FROM {tags} g
            WHERE EXISTS (SELECT 1 FROM r) AND (g.id IN (
                SELECT l.tag_id FROM {link} l WHERE l.record_id = %(record)s
            ) OR g.id = %(tag)s)
        ) AS x ON true
        ORDER BY lower(x.name), x.id
    """
    params = {"tag": tag_id, "record": record_id, "now": timezone.now()}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    tag_found, found, created = bool(rows[0][0]), bool(rows[0][1]), bool(rows[0][2])
    if not tag_found:  # then no record was looked at: say whether it exists
        found = taggable.model.objects.filter(pk=record_id).exists()
    chips = [(row[3], row[4], row[5]) for row in rows if row[3] is not None]
    return found, tag_found, created, chips


@transaction.atomic
def _attach_by_ids_portable(taggable: TaggableType, record_id: int, tag_id: int):
    # SQLite: the transaction is IMMEDIATE, so it holds the database's write lock and the
    # row locks of attach_tag have nothing left to order.
    records = taggable.model.objects.filter(pk=record_id)
    if not Tag.objects.select_for_update(no_key=True).filter(pk=tag_id).exists():
        return records.exists(), False, False, []
    created_at = records.select_for_update(no_key=True).values_list("created_at", flat=True)
    created_at = created_at.first()
    if created_at is None:
        return False, True, False, []
    extra = _link_columns(taggable)
    values = {"created_at": timezone.now(), "record_created_at": created_at}
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {taggable.link_model._meta.db_table} (record_id, tag_id, "
            f"{', '.join(extra)}) VALUES (%s, %s, {', '.join('%s' for _ in extra)}) "
            f"ON CONFLICT DO NOTHING",
            [record_id, tag_id, *(values[column] for column in extra)],
        )
        created = cursor.rowcount == 1
    if created:
        bump([tag_id], taggable.counter, 1)
    chips = list(
        Tag.objects.filter(
            pk__in=taggable.link_model.objects.filter(record_id=record_id).values("tag_id")
        ).values_list("id", "name", "color")
    )
    return True, True, created, chips


def detach_tag_by_ids(taggable: TaggableType, record_id: int, tag_id: int) -> bool:
    """detach_tag by ids, without loading either row: False when it was not attached.

    Locks the tag (as detach_tag does), deletes the link and takes it off the counter;
    on PostgreSQL in one statement.
    """
    link = taggable.link_model._meta.db_table
    tags = Tag._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH t AS MATERIALIZED (
                    SELECT id FROM {tags} WHERE id = %(tag)s FOR NO KEY UPDATE
                ), gone AS (
                    DELETE FROM {link} l USING t
                    WHERE l.tag_id = t.id AND l.record_id = %(record)s RETURNING l.tag_id
                ), bumped AS (
                    UPDATE {tags} SET {taggable.counter} = {taggable.counter} - 1
                    WHERE id = (SELECT tag_id FROM gone) RETURNING id
                )
                SELECT count(*) FROM gone
                """,
                {"tag": tag_id, "record": record_id},
            )
            deleted = cursor.fetchone()[0]
    else:
        with transaction.atomic():
            if not Tag.objects.select_for_update(no_key=True).filter(pk=tag_id).exists():
                return False  # deleted or merged away meanwhile, and its links with it
            deleted, _ = taggable.link_model.objects.filter(
                record_id=record_id, tag_id=tag_id
            ).delete()
            bump([tag_id], taggable.counter, -deleted)
    if deleted and taggable.model is Contact:
        contacts_changed([record_id])  # live segments may test the tag
    return bool(deleted)


def record_tags(record: Model) -> QuerySet:
    return Tag.objects.filter(
        pk__in=taggable_type_for(type(record))
        .link_model.objects.filter(record=record)
        .values("tag_id")
    )


@dataclass(frozen=True)
class BulkTagResult:
    added: int
    removed: int


def _compiled(queryset: QuerySet) -> tuple[str, tuple]:
    """SQL and parameters of a `SELECT … AS record_pk, … AS record_created` for the records."""
    ids = queryset.order_by().values(record_pk=F("pk"), record_created=F("created_at"))
    return ids.query.get_compiler(using=queryset.db).as_sql()


def bulk_tag(
    taggable: TaggableType,
    records: QuerySet,
    *,
    add: Iterable[Tag] = (),
    remove: Iterable[Tag] = (),
    user: User | None = None,
    audit: bool = True,
    savepoint: bool = True,
) -> BulkTagResult:
    """Add and remove tags on every record of `records`, one statement per tag.

    `records` is any queryset of the type's model (ids or a filter); it is never
    fetched into Python. Each tag that changed on some record gets an audit entry,
    unless `audit` is False: a caller working batch by batch (the CSV import)
    records one entry for the whole job itself.

    `savepoint=False` is for such a caller, inside its own transaction: on PostgreSQL
    each savepoint that locks a tag row adds a subtransaction to the row's lockers,
    and the foreign-key checks at commit re-lock that row once per new link, copying
    the whole list each time (a 100,000-row import spent minutes there). A failure
    then marks the caller's transaction for rollback.
    """
    with transaction.atomic(savepoint=savepoint):
        return _bulk_tag(taggable, records, add=add, remove=remove, user=user, audit=audit)


def _bulk_tag(
    taggable: TaggableType,
    records: QuerySet,
    *,
    add: Iterable[Tag],
    remove: Iterable[Tag],
    user: User | None,
    audit: bool,
) -> BulkTagResult:
    add, remove = list(add), list(remove)
    if add:
        hold_off_deletes(taggable.model)  # the records it reads are not locked (tags.locks)
    _lock_in_order(*add, *remove, no_key=True)
    link_table = taggable.link_model._meta.db_table
    # Every writer of a tag's links holds the tag's row lock (_lock_in_order), so NOT EXISTS
    # sees every link there is: ON CONFLICT, a speculative insertion per row (a quarter of
    # a 100,000-row add), is only needed when a join may list a record twice.
    on_conflict = " ON CONFLICT DO NOTHING" if len(records.query.alias_map) > 1 else ""
    try:
        select_sql, params = _compiled(records)
    except EmptyResultSet:  # e.g. `ids: []`: Django knows no row can match, and has no SQL
        return BulkTagResult(added=0, removed=0)
    added = removed = 0
    now = timezone.now()
    # Live segments re-evaluate the contacts whose tags changed: only then do the
    # statements return ids, and only those of links really added or removed.
    returning = taggable.model is Contact and any_live_segment()
    changed: set[int] = set()
    with connection.cursor() as cursor:

        def execute(sql: str, sql_params: list) -> int:
            if not returning:
                cursor.execute(sql, sql_params)
                return cursor.rowcount
            cursor.execute(f"{sql} RETURNING record_id", sql_params)
            ids = [row[0] for row in cursor.fetchall()]
            changed.update(ids)
            return len(ids)

        for tag in add:
            count = execute(
                f"INSERT INTO {link_table} (tag_id, record_id, record_created_at, created_at) "
                f"SELECT %s, r.record_pk, r.record_created, %s FROM ({select_sql}) AS r "
                f"WHERE NOT EXISTS (SELECT 1 FROM {link_table} l "
                f"WHERE l.tag_id = %s AND l.record_id = r.record_pk){on_conflict}",
                [tag.pk, now, *params, tag.pk],
            )
            bump([tag.pk], taggable.counter, count)
            added += count
            if audit and count:
                record_bulk_tagging(user, Action.TAG_BULK_ADDED, tag, taggable, count)
        for tag in remove:
            count = execute(
                f"DELETE FROM {link_table} WHERE tag_id = %s "
                f"AND record_id IN (SELECT r.record_pk FROM ({select_sql}) AS r)",
                [tag.pk, *params],
            )
            bump([tag.pk], taggable.counter, -count)
            removed += count
            if audit and count:
                record_bulk_tagging(user, Action.TAG_BULK_REMOVED, tag, taggable, count)
    if changed:
        contacts_changed(changed)
    return BulkTagResult(added=added, removed=removed)


def record_bulk_tagging(
    user: User | None, action: Action, tag: Tag, taggable: TaggableType, records: int, **extra
) -> None:
    """The audit entry of a bulk add or remove: which tag, on how many records of which type."""
    details = {"record_type": taggable.key, "records": records, **extra}
    record_event(user, action, tag, details)


def _lock_in_order(*tags: Tag, no_key: bool = False) -> None:
    """Row locks on tags, always by ascending id, so concurrent tag writes cannot deadlock.

    Every write of links or counters takes them before anything else, and a link write
    (no_key) waits for a merge or delete of its tag instead of linking a vanished tag.
    A tag deleted or merged away meanwhile is a TagError.
    """
    wanted = {tag.pk: tag for tag in tags}
    locked = Tag.objects.select_for_update(no_key=no_key).filter(pk__in=list(wanted))
    gone = set(wanted) - set(locked.order_by("pk").values_list("pk", flat=True))
    if gone:
        names = ", ".join(f"“{wanted[pk]}”" for pk in sorted(gone))
        raise TagError(f"The tag {names} no longer exists (deleted or merged); reload and retry.")


@transaction.atomic
def merge_tags(source: Tag, target: Tag, *, user: User | None = None) -> Tag:
    """Move every link of `source` to `target`, collapse duplicates, delete `source`."""
    if source.pk == target.pk:
        raise TagError("A tag cannot be merged into itself; pick another tag.")
    _lock_in_order(source, target)
    _ensure_not_in_criteria(source)
    counters = [taggable.counter for taggable in TAGGABLE_TYPES.values()]
    had = Tag.objects.filter(pk=source.pk).values(*counters).first()
    if had is None:  # merged or deleted by someone else since this request loaded it
        raise TagError(f"Tag “{source.name}” no longer exists; nothing was merged.")
    moved = {}
    # Contacts that gain the target tag may enter or leave live segments (the source tag
    # cannot matter: no criteria name it); their ids are returned only when some are live.
    live = any_live_segment()
    with connection.cursor() as cursor:
        for taggable in TAGGABLE_TYPES.values():
            table = taggable.link_model._meta.db_table
            returning = live and taggable.model is Contact
            cursor.execute(
                f"INSERT INTO {table} (tag_id, record_id, record_created_at, created_at) "
                f"SELECT %s, s.record_id, s.record_created_at, s.created_at "
                f"FROM {table} s WHERE s.tag_id = %s "
                f"AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.tag_id = %s "
                f"AND t.record_id = s.record_id) ON CONFLICT DO NOTHING"
                + (" RETURNING record_id" if returning else ""),
                [target.pk, source.pk, target.pk],
            )
            if returning:
                gained = [row[0] for row in cursor.fetchall()]
                moved[taggable.key] = len(gained)
                contacts_changed(gained)
            else:
                moved[taggable.key] = cursor.rowcount
    details = {
        "source": {"id": source.pk, "name": source.name},
        "target": {"id": target.pk, "name": target.name},
        "links_moved": moved,
        "links_already_on_target": {
            key: max(had[taggable.counter] - moved[key], 0)
            for key, taggable in TAGGABLE_TYPES.items()
        },
    }
    # The entry is the surviving tag's: its page shows what was merged into it.
    record_event(user, Action.TAG_MERGED, target, details)
    _delete_links_of(source)
    source.delete()
    recount_tags([target.pk])
    target.refresh_from_db()
    return target


@transaction.atomic
def delete_tag(tag: Tag, *, user: User | None = None) -> int:
    """Delete the tag and its links (never the records); returns how many records lost it.

    Live segments need not hear of it: no segment's criteria name the tag (or the
    delete is refused), so no contact's match changes.
    """
    _lock_in_order(tag)
    _ensure_not_in_criteria(tag)
    tag.refresh_from_db()
    lost = tag.total_count
    details = {
        "name": tag.name,
        "color": tag.color,
        "records": lost,
        **{taggable.key: getattr(tag, taggable.counter) for taggable in TAGGABLE_TYPES.values()},
    }
    record_event(user, Action.TAG_DELETED, tag, details)
    _delete_links_of(tag)
    tag.delete()
    return lost


def _delete_links_of(tag: Tag) -> None:
    """A tag's links go with it: there is no database foreign key to cascade them."""
    for taggable in TAGGABLE_TYPES.values():
        taggable.link_model.objects.filter(tag=tag).delete()
