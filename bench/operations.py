"""Operations 2–7 of the benchmark: Cohort's own path beside the physical limit.

Each function returns Operation rows. Cohort's path is the code a user's click or
API call runs (services, or whole requests through Django's test client, which
runs every middleware, view and template). The physical limit is the shortest
statement producing the same rows into a plain scratch table (bench_physical_*)
with only the key it needs — no foreign keys, no other index — on the same data,
in the same run: a lower bound for any schema, which Cohort's own tables with
their foreign keys and indexes were not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.apps import apps
from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import User
from bench.report import Operation, measure
from contacts.models import Contact
from segments import services as segment_services
from segments.models import Segment, SegmentMember, SegmentRemoval, SyncRun
from segments.sync import sync_segment
from tags.models import ContactTag, Tag
from tags.records import TAGGABLE_TYPES
from tags.services import bulk_tag, create_tag

CONTACTS = Contact._meta.db_table
MEMBERS = SegmentMember._meta.db_table
LINKS = ContactTag._meta.db_table
TAGS = Tag._meta.db_table
USERS = User._meta.db_table

# Tags chosen by their share of contacts in the seeded data (demo.tags).
RARE_TAG = "decision-maker"  # about 3 % of contacts
COMMON_TAG = "enterprise"  # about 11 %
SECOND_TAG = "saas"  # about 6.5 %; with COMMON_TAG, about 0.7 %
# Created at 365 × U^1.3 days ago (demo.generate): 30 % within the last 76 days.
RECENT_DAYS = 76
BULK_CONTACTS = 100_000
BULK_TAG = "bench-bulk"
PAGE_SIZE = 50  # the list pages' size (core.generic_views)
COUNT_CAP = 10_000
# Targets of issue #14.
SYNC_RATIO = 1.5
BULK_RATIO = 1.3
FIRST_PAGE_S = 0.020
LATER_PAGE_S = 0.030
TWO_TAGS_S = 0.050
TAGS_PAGE_S = 0.015

PHYSICAL_MEMBERS = "bench_physical_members"
PHYSICAL_LINKS = "bench_physical_links"
PHYSICAL_TAG_ORDER = "bench_physical_tag_order"


def _execute(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _fetchall(sql: str, params=()) -> list:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _tag(slug: str) -> Tag:
    return Tag.objects.get(slug=slug)


def vacuum(*tables: str) -> None:
    """PostgreSQL: VACUUM (ANALYZE) what a run emptied, so the next run does not write
    into, and scan past, its dead rows (autovacuum may be off: it is on the review's
    server). All tables when none are named. SQLite reuses freed pages: ANALYZE only."""
    if connection.vendor != "postgresql":
        _execute("ANALYZE")
        return
    _execute("VACUUM (ANALYZE) " + ", ".join(tables))


def _id_type() -> str:
    return "bigint" if connection.vendor == "postgresql" else "integer"


def _timestamp_type() -> str:
    return "timestamp with time zone" if connection.vendor == "postgresql" else "datetime"


def _scratch(table: str, columns: str) -> None:
    _execute(f"DROP TABLE IF EXISTS {table}")
    _execute(f"CREATE TABLE {table} ({columns})")


def _clear(table: str) -> None:
    _execute(f"TRUNCATE {table}" if connection.vendor == "postgresql" else f"DELETE FROM {table}")


def drop_physical_tables() -> None:
    for table in (PHYSICAL_MEMBERS, PHYSICAL_LINKS, PHYSICAL_TAG_ORDER):
        _execute(f"DROP TABLE IF EXISTS {table}")


# --- 2. segment sync --------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncCase:
    label: str
    criteria: dict
    raw_where: str  # selects contact ids: "SELECT … AS id …"
    raw_params: Callable[[], tuple]  # evaluated per run, like the criteria's "now"


def sync_cases() -> list[SyncCase]:
    rare = _tag(RARE_TAG)
    return [
        SyncCase(
            "tag condition",
            {
                "match": "all",
                "conditions": [{"field": "tags", "operator": "has", "value": rare.pk}],
            },
            f"SELECT record_id AS id FROM {LINKS} WHERE tag_id = %s",
            lambda: (rare.pk,),
        ),
        SyncCase(
            "relative date",
            {
                "match": "all",
                "conditions": [
                    {"field": "created_at", "operator": "in_last_days", "value": RECENT_DAYS}
                ],
            },
            f"SELECT id FROM {CONTACTS} WHERE created_at >= %s",
            lambda: (timezone.now() - timedelta(days=RECENT_DAYS),),
        ),
        SyncCase(
            "OR group",
            {
                "match": "any",
                "conditions": [
                    {"field": "lifecycle_stage", "operator": "in", "value": ["subscriber", "lead"]},
                    {"field": "country", "operator": "equals", "value": "US"},
                ],
            },
            f"SELECT id FROM {CONTACTS} WHERE lifecycle_stage IN ('subscriber', 'lead') "
            f"OR country = 'US'",
            tuple,
        ),
    ]


def _bench_segment(name: str, criteria: dict, user: User) -> Segment:
    Segment.objects.filter(name=name).delete()
    return segment_services.create_segment(name=name, criteria=criteria, user=user)


def _segment_tables() -> list[str]:
    """Every table of the segments app (members, change log, runs…), whatever its design."""
    return [model._meta.db_table for model in apps.get_app_config("segments").get_models()]


def _empty(segment: Segment) -> None:
    _execute(f"DELETE FROM {MEMBERS} WHERE segment_id = %s", [segment.pk])
    Segment.objects.filter(pk=segment.pk).update(member_count=0)
    # Dead rows of the previous run would otherwise slow the next one down.
    vacuum(*_segment_tables())


def _physical_sync_from_empty(segment_id: int, case: SyncCase) -> None:
    with transaction.atomic():
        _execute(
            f"INSERT INTO {PHYSICAL_MEMBERS} (segment_id, contact_id, added_how, added_at) "
            f"SELECT %s, m.id, 'rule', %s FROM ({case.raw_where}) m",
            [segment_id, timezone.now(), *case.raw_params()],
        )


def _physical_resync(segment_id: int, case: SyncCase) -> None:
    """The difference only: leavers deleted, newcomers inserted, by anti-joins."""
    with transaction.atomic():
        # Each database's fastest anti-join: SQLite probes a list built once,
        # PostgreSQL hashes the other side.
        leavers = (
            f"contact_id NOT IN (SELECT m.id FROM ({case.raw_where}) m)"
            if connection.vendor == "sqlite"
            else f"NOT EXISTS (SELECT 1 FROM ({case.raw_where}) m WHERE m.id = contact_id)"
        )
        _execute(
            f"DELETE FROM {PHYSICAL_MEMBERS} WHERE segment_id = %s AND {leavers}",
            [segment_id, *case.raw_params()],
        )
        _execute(
            f"INSERT INTO {PHYSICAL_MEMBERS} (segment_id, contact_id, added_how, added_at) "
            f"SELECT %s, m.id, 'rule', %s FROM ({case.raw_where}) m WHERE NOT EXISTS ("
            f"SELECT 1 FROM {PHYSICAL_MEMBERS} p WHERE p.segment_id = %s AND p.contact_id = m.id)",
            [segment_id, timezone.now(), *case.raw_params(), segment_id],
        )


def _physical_members(segment_id: int) -> int:
    return _fetchall(
        f"SELECT COUNT(*) FROM {PHYSICAL_MEMBERS} WHERE segment_id = %s", [segment_id]
    )[0][0]


def segment_sync(user: User, repeat: int) -> list[Operation]:
    _scratch(
        PHYSICAL_MEMBERS,
        f"segment_id integer NOT NULL, contact_id {_id_type()} NOT NULL, "
        f"added_how varchar(10) NOT NULL, added_at {_timestamp_type()} NOT NULL, "
        f"PRIMARY KEY (segment_id, contact_id)",
    )
    operations = []
    for case in sync_cases():
        segment = _bench_segment(f"bench: {case.label}", case.criteria, user)

        def cohort_sync(segment=segment):
            run = sync_segment(segment, user, wait=True)
            if run.outcome != "succeeded":
                raise RuntimeError(f"Sync failed: {run.error}")

        def physical_empty():
            _clear(PHYSICAL_MEMBERS)
            vacuum(PHYSICAL_MEMBERS)

        empty_cohort = measure(cohort_sync, repeat, setup=lambda s=segment: _empty(s))
        empty_physical = measure(
            lambda c=case, s=segment: _physical_sync_from_empty(s.pk, c),
            repeat,
            setup=physical_empty,
        )
        members = Segment.objects.get(pk=segment.pk).member_count
        physical_members = _physical_members(segment.pk)
        # A relative date moves between the two runs: a few contacts may cross it.
        if abs(members - physical_members) > members // 10_000:
            raise RuntimeError(f"{case.label}: Cohort {members}, physical {physical_members}")
        resync_cohort = measure(cohort_sync, repeat)
        resync_physical = measure(lambda c=case, s=segment: _physical_resync(s.pk, c), repeat)
        note = f"{members:,} members"
        print(
            f"  {case.label}: from empty {empty_cohort.wall_s:.2f} s "
            f"(physical {empty_physical.wall_s:.2f} s), re-sync {resync_cohort.wall_s:.2f} s "
            f"(physical {resync_physical.wall_s:.2f} s), {note}",
            flush=True,
        )
        for name, cohort, physical in (
            (f"Sync from empty, {case.label}", empty_cohort, empty_physical),
            (f"Re-sync, no change, {case.label}", resync_cohort, resync_physical),
        ):
            operations.append(
                Operation(
                    name,
                    cohort,
                    physical,
                    target=f"≤ {SYNC_RATIO}× physical",
                    met=cohort.wall_s <= SYNC_RATIO * physical.wall_s,
                    extra={"note": note, "members": members},
                )
            )
        _clear(PHYSICAL_MEMBERS)
    _execute(f"DROP TABLE {PHYSICAL_MEMBERS}")
    return operations


def drop_bench_segments() -> None:
    """Segments the benchmark made; removed after, so the dataset stays as seeded, and the
    tables they emptied vacuumed, so a reused dataset does not grow dead rows run by run."""
    segments = Segment.objects.filter(name__startswith="bench")
    SyncRun.objects.filter(segment__in=segments).delete()
    SegmentRemoval.objects.filter(segment__in=segments).delete()
    for segment in segments:
        _execute(f"DELETE FROM {MEMBERS} WHERE segment_id = %s", [segment.pk])
        segment.delete()
    drop_physical_tables()
    vacuum(*_segment_tables(), LINKS, TAGS)


# --- 3 and 4. list pages ----------------------------------------------------------------------


def signed_in_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _get(client: Client, path: str) -> bytes:
    response = client.get(path, secure=True)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} answered {response.status_code}")
    return response.content


def _chips(ids: list[int]) -> None:
    if ids:  # a page past the end has no chips to fetch; PostgreSQL refuses "IN ()"
        placeholders = ", ".join(["%s"] * len(ids))
        _fetchall(
            f"SELECT l.record_id, t.name, t.slug, t.color FROM {LINKS} l "
            f"JOIN {TAGS} t ON t.id = l.tag_id WHERE l.record_id IN ({placeholders})",
            ids,
        )


PAGE_COLUMNS = (
    "c.id, c.first_name, c.last_name, c.email, c.company, c.country, "
    "c.lifecycle_stage, c.lead_score, c.last_activity_at, u.username"
)


def _raw_contact_page(tag_ids: list[int], page: int) -> None:
    """The rows, owners, tag chips and capped count that the contact list shows, by hand
    on Cohort's own tables (the older "raw SQL" column)."""
    where = " AND ".join(
        f"c.id IN (SELECT record_id FROM {LINKS} WHERE tag_id = %s)" for _ in tag_ids
    )
    rows = _fetchall(
        f"SELECT {PAGE_COLUMNS} "
        f"FROM {CONTACTS} c LEFT JOIN {USERS} u ON u.id = c.owner_id WHERE {where} "
        f"ORDER BY c.created_at DESC, c.id DESC LIMIT %s OFFSET %s",
        [*tag_ids, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE],
    )
    _chips([row[0] for row in rows])
    _fetchall(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {CONTACTS} c WHERE {where} LIMIT %s) capped",
        [*tag_ids, COUNT_CAP + 1],
    )


def _build_tag_order(tag_ids: list[int]) -> None:
    """A plain table holding, per tag, its contacts in list order: the one index a page
    of "contacts with tag T, newest first" needs, built from the same links."""
    _scratch(
        PHYSICAL_TAG_ORDER,
        f"tag_id integer NOT NULL, created_at {_timestamp_type()} NOT NULL, "
        f"record_id {_id_type()} NOT NULL, PRIMARY KEY (tag_id, created_at, record_id)",
    )
    placeholders = ", ".join(["%s"] * len(tag_ids))
    _execute(
        f"INSERT INTO {PHYSICAL_TAG_ORDER} (tag_id, created_at, record_id) "
        f"SELECT l.tag_id, c.created_at, c.id FROM {LINKS} l JOIN {CONTACTS} c "
        f"ON c.id = l.record_id WHERE l.tag_id IN ({placeholders})",
        tag_ids,
    )
    vacuum(PHYSICAL_TAG_ORDER)


def _physical_contact_page(tag_ids: list[int], page: int) -> None:
    """The same page from the list-order table: one index range (a merge of two for
    two tags), the rows by primary key, the chips, and the count (the tag's counter
    for one tag, capped for two)."""
    first, *others = tag_ids
    joins = "".join(
        f" JOIN {PHYSICAL_TAG_ORDER} o{n} ON o{n}.tag_id = %s AND o{n}.created_at = o.created_at "
        f"AND o{n}.record_id = o.record_id"
        for n, _ in enumerate(others)
    )
    ordered = f"FROM {PHYSICAL_TAG_ORDER} o{joins} WHERE o.tag_id = %s"
    rows = _fetchall(
        f"SELECT {PAGE_COLUMNS} FROM (SELECT o.created_at, o.record_id {ordered} "
        f"ORDER BY o.created_at DESC, o.record_id DESC LIMIT %s OFFSET %s) p "
        f"JOIN {CONTACTS} c ON c.id = p.record_id LEFT JOIN {USERS} u ON u.id = c.owner_id "
        f"ORDER BY p.created_at DESC, p.record_id DESC",
        [*others, first, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE],
    )
    _chips([row[0] for row in rows])
    if others:
        _fetchall(
            f"SELECT COUNT(*) FROM (SELECT 1 {ordered} LIMIT %s) capped",
            [*others, first, COUNT_CAP + 1],
        )
    else:
        _fetchall(f"SELECT contacts_count FROM {TAGS} WHERE id = %s", [first])


def contact_lists(client: Client, repeat: int) -> list[Operation]:
    common, second = _tag(COMMON_TAG), _tag(SECOND_TAG)
    _build_tag_order([common.pk, second.pk])
    operations = []
    for label, tags in (("one tag", [common]), ("two tags, all of", [common, second])):
        query = "&".join(f"tag={tag.slug}" for tag in tags)
        ids = [t.pk for t in tags]
        for page in (1, 100):
            path = f"/admin/contacts?{query}&page={page}"
            _get(client, path)  # warm: template loading, caches
            cohort = measure(lambda p=path: _get(client, p), repeat)
            physical = measure(lambda n=page, i=ids: _physical_contact_page(i, n), repeat)
            raw = measure(lambda n=page, i=ids: _raw_contact_page(i, n), repeat)
            limit = TWO_TAGS_S if len(tags) > 1 else FIRST_PAGE_S if page == 1 else LATER_PAGE_S
            operations.append(
                Operation(
                    f"Contacts filtered by {label}, page {page}",
                    cohort,
                    physical,
                    target=f"≤ {limit * 1000:.0f} ms",
                    met=cohort.wall_s <= limit,
                    raw=raw,
                )
            )
    _execute(f"DROP TABLE {PHYSICAL_TAG_ORDER}")
    return operations


def tag_list(client: Client, repeat: int) -> list[Operation]:
    _get(client, "/admin/crm/tags")
    cohort = measure(lambda: _get(client, "/admin/crm/tags"), repeat)
    physical = measure(
        lambda: _fetchall(
            f"SELECT id, name, slug, color, description, contacts_count, leads_count, "
            f"deals_count FROM {TAGS} ORDER BY LOWER(name), id"
        ),
        repeat,
    )
    return [
        Operation(
            "Tags page with usage counts",
            cohort,
            physical,
            target=f"≤ {TAGS_PAGE_S * 1000:.0f} ms",
            met=cohort.wall_s <= TAGS_PAGE_S,
        )
    ]


# --- 5. bulk tagging --------------------------------------------------------------------------


def _bulk_size() -> int:
    """BULK_CONTACTS, or half the contacts of a smaller dataset (the smoke run's)."""
    return min(BULK_CONTACTS, Contact.objects.count() // 2)


def _bulk_ids_bound(size: int) -> int:
    """The id of the size-th contact: the bulk actions tag the contacts up to it."""
    return Contact.objects.order_by("pk").values_list("pk", flat=True)[size - 1 : size].get()


def _physical_bulk_add(tag: Tag, bound: int) -> None:
    with transaction.atomic():
        _execute(
            f"INSERT INTO {PHYSICAL_LINKS} (tag_id, record_id, created_at) "
            f"SELECT %s, id, %s FROM {CONTACTS} WHERE id <= %s",
            [tag.pk, timezone.now(), bound],
        )


def _physical_bulk_remove(tag: Tag, bound: int) -> None:
    with transaction.atomic():
        _execute(
            f"DELETE FROM {PHYSICAL_LINKS} WHERE tag_id = %s AND record_id <= %s", [tag.pk, bound]
        )


def bulk_tagging(user: User, repeat: int) -> list[Operation]:
    Tag.objects.filter(slug=BULK_TAG).delete()
    tag = create_tag(BULK_TAG, user=user)
    size = _bulk_size()
    bound = _bulk_ids_bound(size)
    contacts = TAGGABLE_TYPES["contacts"]
    records = Contact.objects.filter(pk__lte=bound)
    _scratch(
        PHYSICAL_LINKS,
        f"tag_id integer NOT NULL, record_id {_id_type()} NOT NULL, "
        f"created_at {_timestamp_type()} NOT NULL, PRIMARY KEY (tag_id, record_id)",
    )

    def add():
        result = bulk_tag(contacts, records, add=[tag])
        if result.added != size:
            raise RuntimeError(f"Bulk add tagged {result.added}, not {size}")

    def remove():
        bulk_tag(contacts, records, remove=[tag])

    def clear():
        bulk_tag(contacts, records, remove=[tag])
        vacuum(LINKS, TAGS)

    def fill():
        clear()
        add()
        vacuum(LINKS, TAGS)

    def physical_clear():
        _clear(PHYSICAL_LINKS)
        vacuum(PHYSICAL_LINKS)

    def physical_fill():
        physical_clear()
        _physical_bulk_add(tag, bound)
        vacuum(PHYSICAL_LINKS)

    add_cohort = measure(add, repeat, setup=clear)
    add_physical = measure(lambda: _physical_bulk_add(tag, bound), repeat, setup=physical_clear)
    remove_cohort = measure(remove, repeat, setup=fill)
    remove_physical = measure(
        lambda: _physical_bulk_remove(tag, bound), repeat, setup=physical_fill
    )
    clear()
    tag.delete()
    _execute(f"DROP TABLE {PHYSICAL_LINKS}")
    note = f"{size:,} contacts"
    return [
        Operation(
            name,
            cohort,
            physical,
            target=f"≤ {BULK_RATIO}× physical",
            met=cohort.wall_s <= BULK_RATIO * physical.wall_s,
            extra={"note": note},
        )
        for name, cohort, physical in (
            ("Bulk add one tag", add_cohort, add_physical),
            ("Bulk remove one tag", remove_cohort, remove_physical),
        )
    ]


# --- 7. preview -------------------------------------------------------------------------------


def preview_count(repeat: int) -> list[Operation]:
    common = _tag(COMMON_TAG)
    criteria = {
        "match": "all",
        "conditions": [
            {"field": "tags", "operator": "has", "value": common.pk},
            {"field": "country", "operator": "in", "value": ["US", "GB"]},
            {"field": "lead_score", "operator": "greater_than", "value": 50},
        ],
    }
    cohort = measure(lambda: segment_services.preview(criteria), repeat)
    count, _ = segment_services.preview(criteria)
    physical = measure(
        lambda: _fetchall(
            f"SELECT COUNT(*) FROM {CONTACTS} c WHERE c.country IN ('US', 'GB') "
            f"AND c.lead_score > 50 AND c.id IN (SELECT record_id FROM {LINKS} WHERE tag_id = %s)",
            [common.pk],
        ),
        repeat,
    )
    return [
        Operation(
            "Segment preview count, three conditions",
            cohort,
            physical,
            target="< 1 s",
            met=cohort.wall_s < 1,
            extra={"note": f"{count:,} contacts", "matched": count},
        )
    ]
