"""The port other apps call when contacts change or are about to be deleted.

A service that changes what segment criteria can see — a contact's fields, its tags,
its deals, its activities, an import, a segment's membership — calls `contacts_changed`
with the contact ids inside its transaction. After the commit the ids are queued for
re-evaluation against every live segment (segments.live does that work, in tasks of
BATCH_SIZE ids, inline without a broker). Nothing is queued while no segment is live.

Who calls it: contacts_changed and any_live_segment, every app whose data criteria
read (contacts, deals, activities, tags, transfers) and segments.services; follow_sync_run,
segments.sync when a sync that changed a membership commits. segments.live takes
BATCH_SIZE, clean_ids, segment_database and live_dependents from here.

Before contacts are deleted, their delete service (contacts.services) locks their
segments (`lock_segments_of`) and takes them off the member counts, deleting their
membership, removal and change rows (`forget_contacts`): those rows have no foreign key
in the database, so this is the one place that keeps them from outliving their contact.

Work is queued by task name (core.queue), so this module imports neither the tasks nor
the engine: every app can call it without pulling in the segment machinery.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connections, router, transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet
from django.db.models.functions import Greatest

from core.queue import enqueue_or_keep
from segments.choices import SegmentMode
from segments.models import (
    CriteriaReference,
    MembershipChange,
    Segment,
    SegmentMember,
    SegmentRemoval,
)

# Contacts re-evaluated per statement (and per task): one IN list of this many ids.
BATCH_SIZE = 1_000
# Where contacts_changed keeps a transaction's ids until it commits.
_PENDING = "cohort_live_segments_pending"


def clean_ids(values: Iterable[int], name: str = "contact_ids") -> list[int]:
    """The distinct ids in ascending order; ValueError, naming `name`, when one is not an id."""
    if isinstance(values, str | bytes | dict) or not isinstance(values, Iterable):
        raise ValueError(f"{name}: expected a list of ids, got {type(values).__name__}.")
    ids = set()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}: {value!r} is not an id (a positive integer).")
        ids.add(value)
    return sorted(ids)


def segment_database() -> str:
    return router.db_for_write(Segment)


def any_live_segment() -> bool:
    """Whether some segment is live: one probe of a partial index that holds only those."""
    return Segment.objects.using(segment_database()).filter(mode=SegmentMode.LIVE).exists()


# --- after a change: collect, then schedule ------------------------------------------------------


class _Pending:
    """The contact ids a transaction changed, scheduled once when it commits."""

    def __init__(self, callbacks: list) -> None:
        self.ids: set[int] = set()
        self.flushed = False
        # The connection's list of on-commit callbacks when these ids were collected. Django
        # replaces the list at every commit and rollback (a savepoint's too), so another
        # list means another transaction, or part of this one rolled back: start afresh.
        self.callbacks = callbacks

    def belongs_to(self, connection) -> bool:
        return not self.flushed and self.callbacks is connection.run_on_commit

    def flush(self) -> None:
        if self.flushed:
            return  # an earlier callback of the same transaction took every id
        self.flushed = True
        schedule_live_update(self.ids)


def contacts_changed(contact_ids: Iterable[int]) -> None:
    """Tell live segments that these contacts changed; call it inside the change's transaction.

    After the commit (at once outside a transaction), the ids are re-evaluated against
    every live segment, in background tasks of BATCH_SIZE ids. All the calls of one
    transaction share one set of ids: each contact is evaluated once, however often it
    changed. Nothing is scheduled when no segment is live.
    """
    ids = clean_ids(contact_ids)
    if not ids:
        return
    using = segment_database()
    connection = connections[using]
    pending = getattr(connection, _PENDING, None) if connection.in_atomic_block else None
    if pending is None or not pending.belongs_to(connection):
        pending = _Pending(connection.run_on_commit)
        if connection.in_atomic_block:
            setattr(connection, _PENDING, pending)
    pending.ids.update(ids)
    # One callback per call; the first to run after the commit schedules every id, the
    # others find nothing left to do. A savepoint rolled back keeps the callbacks made
    # before it, whose ids may include its own: those contacts are re-evaluated for
    # nothing, which changes nothing.
    # Robust: the change itself is committed; a failure to schedule is logged, not raised.
    transaction.on_commit(pending.flush, using=using, robust=True)


def schedule_live_update(contact_ids: Iterable[int]) -> int:
    """Queue update_live_segments for these contacts, BATCH_SIZE ids per task (inline
    without a broker); returns how many tasks. None when no segment is live."""
    ids = clean_ids(contact_ids)
    if not ids or not any_live_segment():
        return 0
    for start in range(0, len(ids), BATCH_SIZE):
        # Kept in the database while the broker is down, and sent when it is back (M1).
        enqueue_or_keep("segments.update_live_segments", ids[start : start + BATCH_SIZE])
    return -(-len(ids) // BATCH_SIZE)


def live_dependents(segment_id: int) -> list[int]:
    """Live segments whose membership depends on the segment's: their criteria test
    membership of it, directly or through other live segments."""
    using = segment_database()
    found: set[int] = set()
    frontier = {segment_id}
    while frontier:
        users = CriteriaReference.objects.using(using).filter(
            target_id__in=frontier, segment__mode=SegmentMode.LIVE
        )
        frontier = set(users.values_list("segment_id", flat=True)) - found - {segment_id}
        found |= frontier
    return sorted(found)


# --- after a sync -------------------------------------------------------------------------------


def follow_sync_run(run_id: int, segment_id: int) -> None:
    """After a sync changed a segment's membership (called on commit): when live segments
    test membership of it, queue the re-evaluation of the contacts that joined or left."""
    if not live_dependents(segment_id):
        return
    enqueue_or_keep("segments.follow_sync_run", run_id)


# --- before contacts are deleted ---------------------------------------------------------------

# Advisory lock (PostgreSQL) between membership writers and contact deletes. Membership
# rows have no foreign key, so nothing else stops a sync or live update that read a
# contact before its delete committed from writing a row for it after: syncs and live
# updates hold it shared (they run side by side), a delete holds it exclusively (it waits
# for the writers running, the next ones wait for it; deletes take milliseconds).
# SQLite needs none: its writers are serialised by the IMMEDIATE transaction.
CONTACT_DELETE_LOCK = (0x5E6, -1)


def hold_contacts(using: str) -> None:
    """Membership writers: no contact is deleted until this transaction ends."""
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", CONTACT_DELETE_LOCK)


def _contact_ids(contacts: QuerySet) -> list[int]:
    return list(contacts.order_by().values_list("pk", flat=True))


def lock_segments_of(contacts: QuerySet) -> None:
    """Lock the contacts' segments, by id: a delete takes them before it locks the contacts.

    First it waits for running syncs and live updates (CONTACT_DELETE_LOCK), so none of
    them can still add the contacts after they are gone."""
    using = contacts.db
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", CONTACT_DELETE_LOCK)
    ids = _contact_ids(contacts)
    segments = Segment.objects.using(using).select_for_update().filter(_has_any(ids))
    list(segments.order_by("pk").values_list("pk", flat=True))


def _has_any(ids: list[int]) -> Exists:
    """Segments with a membership of one of `ids`: one probe of the key per segment (there
    are few segments, and membership rows have no index on contact_id)."""
    members = SegmentMember.objects.filter(segment_id=OuterRef("pk"), contact_id__in=ids)
    return Exists(members)


@transaction.atomic
def forget_contacts(contacts: QuerySet) -> None:
    """Before contacts are deleted: take them off their segments' member counts, and delete
    their membership, removal and change rows (none has a foreign key that would).

    Exact only once their segments and then the contacts are locked (the lock order:
    contacts.services).
    """
    using = contacts.db
    ids = _contact_ids(contacts)
    if not ids:
        return
    segment_ids = Segment.objects.using(using).values("pk")
    members = SegmentMember.objects.using(using).filter(
        segment_id__in=segment_ids, contact_id__in=ids
    )
    per_segment = members.values("segment_id").annotate(n=Count("*")).order_by("segment_id")
    for row in per_segment:
        Segment.objects.using(using).filter(pk=row["segment_id"]).update(
            member_count=Greatest(F("member_count") - row["n"], 0)
        )
    members.delete()
    SegmentRemoval.objects.using(using).filter(
        segment_id__in=segment_ids, contact_id__in=ids
    ).delete()
    MembershipChange.objects.using(using).filter(contact_id__in=ids).delete()
