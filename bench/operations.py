"""Operations 2–7 of the benchmark: Cohort's own path beside hand-written SQL.

Each function returns Operation rows. Cohort's path is the code a user's click or
API call runs (services, or whole requests through Django's test client, which
runs every middleware, view and template); the raw SQL is the shortest statement
sequence a person would write by hand for the same result on the same data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.test import Client
from django.utils import timezone

from accounts.models import User
from bench.report import Operation, median_seconds
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


def _empty(segment: Segment) -> None:
    _execute(f"DELETE FROM {MEMBERS} WHERE segment_id = %s", [segment.pk])
    Segment.objects.filter(pk=segment.pk).update(member_count=0)
    if connection.vendor == "postgresql":
        # Dead rows of the previous run would otherwise slow the next one down.
        _execute(f"VACUUM ANALYZE {MEMBERS}")


def _raw_sync_from_empty(segment: Segment, case: SyncCase) -> None:
    with transaction.atomic():
        added = _execute(
            f"INSERT INTO {MEMBERS} (segment_id, contact_id, added_how, added_at) "
            f"SELECT %s, m.id, 'rule', %s FROM ({case.raw_where}) m ORDER BY m.id",
            [segment.pk, timezone.now(), *case.raw_params()],
        )
        _execute(
            f"UPDATE {Segment._meta.db_table} SET member_count = %s WHERE id = %s",
            [added, segment.pk],
        )


def _raw_resync(segment: Segment, case: SyncCase) -> None:
    with transaction.atomic():
        # Each database's fastest anti-join: SQLite probes a list built once,
        # PostgreSQL hashes the other side.
        leavers = (
            f"contact_id NOT IN (SELECT m.id FROM ({case.raw_where}) m)"
            if connection.vendor == "sqlite"
            else f"NOT EXISTS (SELECT 1 FROM ({case.raw_where}) m WHERE m.id = contact_id)"
        )
        _execute(
            f"DELETE FROM {MEMBERS} WHERE segment_id = %s AND {leavers}",
            [segment.pk, *case.raw_params()],
        )
        _execute(
            f"INSERT INTO {MEMBERS} (segment_id, contact_id, added_how, added_at) "
            # SQLite needs the WHERE to tell ON CONFLICT from a join's ON.
            f"SELECT %s, m.id, 'rule', %s FROM ({case.raw_where}) m WHERE true "
            f"ON CONFLICT DO NOTHING",
            [segment.pk, timezone.now(), *case.raw_params()],
        )


def segment_sync(user: User, repeat: int) -> list[Operation]:
    operations = []
    for case in sync_cases():
        segment = _bench_segment(f"bench: {case.label}", case.criteria, user)
        raw = _bench_segment(f"bench raw: {case.label}", case.criteria, user)

        def cohort_sync(segment=segment):
            run = sync_segment(segment, user, wait=True)
            if run.outcome != "succeeded":
                raise RuntimeError(f"Sync failed: {run.error}")

        empty_cohort = median_seconds(cohort_sync, repeat, setup=lambda s=segment: _empty(s))
        empty_raw = median_seconds(
            lambda s=raw, c=case: _raw_sync_from_empty(s, c), repeat, setup=lambda s=raw: _empty(s)
        )
        members = Segment.objects.get(pk=segment.pk).member_count
        raw_members = SegmentMember.objects.filter(segment=raw).count()
        # A relative date moves between the two runs: a few contacts may cross it.
        if abs(members - raw_members) > members // 10_000:
            raise RuntimeError(f"{case.label}: Cohort synced {members}, raw SQL {raw_members}")
        resync_cohort = median_seconds(cohort_sync, repeat)
        resync_raw = median_seconds(lambda s=raw, c=case: _raw_resync(s, c), repeat)
        note = f"{members:,} members"
        print(
            f"  {case.label}: from empty {empty_cohort:.2f} s (raw {empty_raw:.2f} s), "
            f"re-sync {resync_cohort:.2f} s (raw {resync_raw:.2f} s), {note}",
            flush=True,
        )
        operations += [
            Operation(
                f"Sync from empty, {case.label}",
                empty_cohort,
                empty_raw,
                target="≤ 1.3× raw",
                extra={"note": note, "members": members},
            ),
            Operation(
                f"Re-sync, no change, {case.label}",
                resync_cohort,
                resync_raw,
                target="≤ 1.3× raw",
                extra={"note": note, "members": members},
            ),
        ]
    return operations


def drop_bench_segments() -> None:
    """Segments the benchmark made; removed after, so the dataset stays as seeded."""
    segments = Segment.objects.filter(name__startswith="bench")
    SyncRun.objects.filter(segment__in=segments).delete()
    SegmentRemoval.objects.filter(segment__in=segments).delete()
    for segment in segments:
        _execute(f"DELETE FROM {MEMBERS} WHERE segment_id = %s", [segment.pk])
        segment.delete()


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


def _raw_contact_page(tag_ids: list[int], page: int) -> None:
    """The rows, owners, tag chips and capped count that the contact list shows."""
    where = " AND ".join(
        f"c.id IN (SELECT record_id FROM {LINKS} WHERE tag_id = %s)" for _ in tag_ids
    )
    rows = _fetchall(
        f"SELECT c.id, c.first_name, c.last_name, c.email, c.company, c.country, "
        f"c.lifecycle_stage, c.lead_score, c.last_activity_at, u.username "
        f"FROM {CONTACTS} c LEFT JOIN {USERS} u ON u.id = c.owner_id WHERE {where} "
        f"ORDER BY c.created_at DESC, c.id DESC LIMIT %s OFFSET %s",
        [*tag_ids, PAGE_SIZE + 1, (page - 1) * PAGE_SIZE],
    )
    ids = [row[0] for row in rows]
    if ids:  # a page past the end has no chips to fetch; PostgreSQL refuses "IN ()"
        placeholders = ", ".join(["%s"] * len(ids))
        _fetchall(
            f"SELECT l.record_id, t.name, t.slug, t.color FROM {LINKS} l "
            f"JOIN {TAGS} t ON t.id = l.tag_id WHERE l.record_id IN ({placeholders})",
            ids,
        )
    counted = " AND ".join(
        f"c.id IN (SELECT record_id FROM {LINKS} WHERE tag_id = %s)" for _ in tag_ids
    )
    _fetchall(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {CONTACTS} c WHERE {counted} LIMIT %s) capped",
        [*tag_ids, COUNT_CAP + 1],
    )


def contact_lists(client: Client, repeat: int) -> list[Operation]:
    common, second = _tag(COMMON_TAG), _tag(SECOND_TAG)
    operations = []
    for label, tags in (("one tag", [common]), ("two tags, all of", [common, second])):
        query = "&".join(f"tag={tag.slug}" for tag in tags)
        for page in (1, 100):
            path = f"/admin/contacts?{query}&page={page}"
            _get(client, path)  # warm: template loading, caches
            cohort = median_seconds(lambda p=path: _get(client, p), repeat)
            raw = median_seconds(
                lambda ids=[t.pk for t in tags], n=page: _raw_contact_page(ids, n), repeat
            )
            operations.append(
                Operation(
                    f"Contacts filtered by {label}, page {page}",
                    cohort,
                    raw,
                    target="≤ 2× raw and < 100 ms",
                    met=cohort <= 2 * raw and cohort < 0.1,
                )
            )
    return operations


def tag_list(client: Client, repeat: int) -> list[Operation]:
    _get(client, "/admin/crm/tags")
    cohort = median_seconds(lambda: _get(client, "/admin/crm/tags"), repeat)
    raw = median_seconds(
        lambda: _fetchall(
            f"SELECT id, name, slug, color, description, contacts_count, leads_count, "
            f"deals_count FROM {TAGS} ORDER BY LOWER(name), id"
        ),
        repeat,
    )
    return [
        Operation("Tags page with usage counts", cohort, raw, target="< 50 ms", met=cohort < 0.05)
    ]


# --- 5. bulk tagging --------------------------------------------------------------------------


def _bulk_size() -> int:
    """BULK_CONTACTS, or half the contacts of a smaller dataset (the smoke run's)."""
    return min(BULK_CONTACTS, Contact.objects.count() // 2)


def _bulk_ids_bound(size: int) -> int:
    """The id of the size-th contact: the bulk actions tag the contacts up to it."""
    return Contact.objects.order_by("pk").values_list("pk", flat=True)[size - 1 : size].get()


def _raw_bulk_add(tag: Tag, bound: int) -> None:
    with transaction.atomic():
        added = _execute(
            f"INSERT INTO {LINKS} (record_id, tag_id, created_at) "
            f"SELECT id, %s, %s FROM {CONTACTS} WHERE id <= %s ON CONFLICT DO NOTHING",
            [tag.pk, timezone.now(), bound],
        )
        _execute(
            f"UPDATE {TAGS} SET contacts_count = contacts_count + %s WHERE id = %s", [added, tag.pk]
        )


def _raw_bulk_remove(tag: Tag, bound: int) -> None:
    with transaction.atomic():
        removed = _execute(
            f"DELETE FROM {LINKS} WHERE tag_id = %s AND record_id <= %s", [tag.pk, bound]
        )
        _execute(
            f"UPDATE {TAGS} SET contacts_count = contacts_count - %s WHERE id = %s",
            [removed, tag.pk],
        )


def bulk_tagging(user: User, repeat: int) -> list[Operation]:
    Tag.objects.filter(slug=BULK_TAG).delete()
    tag = create_tag(BULK_TAG, user=user)
    size = _bulk_size()
    bound = _bulk_ids_bound(size)
    contacts = TAGGABLE_TYPES["contacts"]
    records = Contact.objects.filter(pk__lte=bound)

    def add():
        result = bulk_tag(contacts, records, add=[tag])
        if result.added != size:
            raise RuntimeError(f"Bulk add tagged {result.added}, not {size}")

    def remove():
        bulk_tag(contacts, records, remove=[tag])

    def vacuum():
        if connection.vendor == "postgresql":
            _execute(f"VACUUM ANALYZE {LINKS}")

    def clear():
        _raw_bulk_remove(tag, bound)
        vacuum()

    def fill():
        _raw_bulk_add(tag, bound)
        vacuum()

    add_cohort = median_seconds(add, repeat, setup=clear)
    add_raw = median_seconds(lambda: _raw_bulk_add(tag, bound), repeat, setup=clear)
    remove_cohort = median_seconds(remove, repeat, setup=fill)
    remove_raw = median_seconds(lambda: _raw_bulk_remove(tag, bound), repeat, setup=fill)
    clear()
    tag.delete()
    note = f"{size:,} contacts"
    return [
        Operation(
            "Bulk add one tag", add_cohort, add_raw, target="≤ 1.3× raw", extra={"note": note}
        ),
        Operation(
            "Bulk remove one tag",
            remove_cohort,
            remove_raw,
            target="≤ 1.3× raw",
            extra={"note": note},
        ),
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
    cohort = median_seconds(lambda: segment_services.preview(criteria), repeat)
    count, _ = segment_services.preview(criteria)
    raw = median_seconds(
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
            raw,
            target="< 1 s",
            met=cohort < 1,
            extra={"note": f"{count:,} contacts", "matched": count},
        )
    ]
