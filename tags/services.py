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
    if "\x00" in name:
        return None  # no tag holds NUL, and PostgreSQL cannot even compare one
    return Tag.objects.filter(name__iexact=name.strip()).first()


def _check_name_free(name: str, exclude_pk: int | None = None) -> None:
    try:
        validate_tag_name(name)  # before the query: PostgreSQL cannot compare a NUL
    except ValidationError as error:
        raise ValidationError({"name": error.messages}) from error
    existing = Tag.objects.filter(name__iexact=name).exclude(pk=exclude_pk).first()
    if existing is not None:
        raise ValidationError(
            {"name": [f"A tag named “{existing.name}” already exists; names ignore case."]}
        )


@transaction.atomic
def create_tag(
    name: str, *, color: str | None = None, description: str = "", user: User | None = None
) -> Tag:
    """A new tag; the name is trimmed and must be unique ignoring case."""
    name = name.strip()
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
    if name is not None and name.strip() != tag.name:
        tag.name = name.strip()
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
