"""Live segments' engine: membership that follows changes to contacts within seconds.

What lives here: the re-evaluation of some contacts against the live segments
(`update_live_segments`), the follow-up of a sync for the live segments that test
membership of its segment (`update_after_sync`), and which live segments the sweep
re-syncs (`segments_to_sweep`). Who calls it: the Celery shells of segments.tasks,
segments.jobs' sweep and the run_scheduled_syncs command. Other apps never do: they
call the port, segments.notify, which queues this work by task name.

Every service that changes what segment criteria can see — a contact's fields, its
tags, its deals, its activities (last activity), an import, a segment's membership
(criteria may test it) — calls `segments.notify.contacts_changed` with the contact
ids, inside its transaction. After the commit, one task per 1,000 ids (segments.tasks) runs
`update_live_segments`: each live segment's criteria, compiled once by the same
compiler a sync uses, restricted to those ids, and applied with the statements a
sync uses (segments.membership), so the same rules hold:

- contacts that match join by rule, unless someone removed them by hand;
- members by rule that stop matching leave;
- manual additions stay while they match a top-level condition (compile_keep).

One live segment whose criteria fail to compile or to run (a value the database cannot
compare, say) must not stop the others: each segment's statements run in a savepoint
of their own; a failing segment is rolled back alone, marked (`live_error`,
`live_failed_at`: its page, the list and the API show them), written to the audit log
once, when it stops, and skipped by later batches. Editing its criteria or a successful
sync (which brings its members up to date) clears the mark (segments.services,
segments.sync). Database trouble that a retry may cure (a deadlock, a lock timeout, a
lost connection) is no fault of the segment: it aborts the batch, which the task retries.

A batch is one transaction holding the live segments' row locks (the lock a sync
and a manual add or remove take), taken by ascending id, so it waits for a running
sync of one of them instead of interleaving with it, and commits once. Within it
segments go in dependency order: one whose criteria test membership of another
comes after it, and sees its new membership. `member_count` moves by exactly what
joined and left.

What a change of one contact cannot reach is handled elsewhere: relative-date
conditions ("in the last 90 days") move with the clock, so celery beat re-syncs the
live segments that use them, each sync a job (segments.jobs.sweep); a sync that
changes a segment lets the live segments that test membership of it follow
(segments.notify.follow_sync_run queues update_after_sync).
"""

from __future__ import annotations

import heapq
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, partial

from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.models import F
from django.db.models.expressions import RawSQL
from django.utils import timezone

from audit.choices import Action
from audit.services import record_event
from contacts.models import Contact
from segments.choices import ChangeReason, SegmentMode
from segments.criteria import compile_criteria, compile_keep, context, uses_relative_dates
from segments.membership import (
    ChangeLog,
    Rows,
    id_list_parameter,
    id_list_sql,
    select_ids,
    update_within,
)
from segments.models import CriteriaReference, MembershipChange, Segment, SyncRun
from segments.notify import (
    BATCH_SIZE,
    clean_ids,
    hold_contacts,
    live_dependents,
    segment_database,
)

logger = logging.getLogger(__name__)
# Errors a retry of the whole batch may cure: not the segment's fault (see above).
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class LiveUpdate:
    """What one re-evaluation did: how many contacts and live segments, joins and leaves."""

    contacts: int
    segments: int
    joined: int
    left: int

    def __add__(self, other: LiveUpdate) -> LiveUpdate:
        return LiveUpdate(
            contacts=self.contacts + other.contacts,
            segments=max(self.segments, other.segments),
            joined=self.joined + other.joined,
            left=self.left + other.left,
        )


NOTHING = LiveUpdate(contacts=0, segments=0, joined=0, left=0)


# --- which live segments, in which order ---------------------------------------------------------


def dependency_order(segment_ids: Iterable[int], edges: Iterable[tuple[int, int]]) -> list[int]:
    """`segment_ids` with every segment after the segments its criteria use (`edges`:
    (segment, used segment) pairs), otherwise by id. Criteria validation refuses
    cycles; should one exist anyway, its segments come last, by id."""
    ids = set(segment_ids)
    uses: dict[int, set[int]] = {pk: set() for pk in ids}
    used_by: dict[int, set[int]] = {pk: set() for pk in ids}
    for user, used in edges:
        if user in ids and used in ids and user != used:
            uses[user].add(used)
            used_by[used].add(user)
    ready = [pk for pk in ids if not uses[pk]]
    heapq.heapify(ready)
    order = []
    while ready:
        pk = heapq.heappop(ready)
        order.append(pk)
        for user in used_by[pk]:
            uses[user].discard(pk)
            if not uses[user]:
                heapq.heappush(ready, user)
    return order + sorted(ids - set(order))


def live_segments_in_order(segment_ids: Iterable[int] | None = None) -> list[int]:
    """Ids of the live segments (all, or those of `segment_ids`), in dependency order."""
    using = segment_database()
    live = Segment.objects.using(using).filter(mode=SegmentMode.LIVE)
    if segment_ids is not None:
        live = live.filter(pk__in=list(segment_ids))
    ids = list(live.values_list("pk", flat=True))
    if not ids:
        return []
    edges = CriteriaReference.objects.using(using).filter(segment_id__in=ids, target_id__in=ids)
    return dependency_order(ids, edges.values_list("segment_id", "target_id"))


def segments_to_sweep(synced_before: datetime | None = None) -> list[Segment]:
    """Live segments whose criteria use relative dates, in dependency order; with
    `synced_before`, only those not synced since."""
    order = live_segments_in_order()
    segments = Segment.objects.using(segment_database()).in_bulk(order)
    return [
        segments[pk]
        for pk in order
        if pk in segments
        and uses_relative_dates(segments[pk].criteria)
        and (
            synced_before is None
            or segments[pk].last_synced_at is None
            or segments[pk].last_synced_at < synced_before
        )
    ]


# --- re-evaluation -------------------------------------------------------------------------------


# Stands for a batch's ids in compiled statements until one is bound to them.
_IDS = object()


@dataclass(frozen=True)
class _Statements:
    """A live segment's criteria compiled for "these contacts", the ids left open."""

    match: Rows
    keep: Rows | None

    def bound(self, vendor: str, contact_ids: list[int]) -> tuple[Rows, Rows | None]:
        value = id_list_parameter(vendor, contact_ids)

        def bind(rows: Rows | None) -> Rows | None:
            if rows is None:
                return None
            sql, params = rows
            return sql, [value if param is _IDS else param for param in params]

        return bind(self.match), bind(self.keep)


def _compile(criteria: dict, using: str) -> _Statements:
    vendor = connections[using].vendor
    ctx = context(few_contacts=True)
    contacts = Contact.objects.using(using).filter(pk__in=RawSQL(id_list_sql(vendor), [_IDS]))
    match = select_ids(contacts.filter(compile_criteria(criteria, ctx)))
    keep_condition = compile_keep(criteria, ctx)
    keep = select_ids(contacts.filter(keep_condition)) if keep_condition else None
    return _Statements(match=match, keep=keep)


@lru_cache(maxsize=512)
def _compiled(criteria_json: str, using: str) -> _Statements:
    return _compile(json.loads(criteria_json), using)


def _statements(criteria: dict, using: str) -> _Statements:
    """The criteria compiled once per process and database: compiling costs more than
    running them for a few contacts. Relative dates are compiled afresh, as "now" moves."""
    if uses_relative_dates(criteria):
        return _compile(criteria, using)
    return _compiled(json.dumps(criteria, sort_keys=True), using)


def _lock_live_segments(segment_ids: list[int] | None, using: str) -> dict[int, dict]:
    """Row locks on the live segments (all, or those of `segment_ids`): the lock a sync
    and a manual add or remove take, taken by ascending id like every other writer that
    locks several segments. Their criteria, by id; segments made manual meanwhile, and
    those whose live updates stopped on an error, are left out."""
    connection = connections[using]
    sql = (
        f"SELECT id, criteria FROM {Segment._meta.db_table} "
        "WHERE mode = %s AND live_failed_at IS NULL"
    )
    params: list = [SegmentMode.LIVE]
    if segment_ids is not None:
        sql += f" AND id IN ({', '.join(['%s'] * len(segment_ids))})"
        params += segment_ids
    sql += " ORDER BY id"
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # JIT compilation costs more than these small statements ever take.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        pk: json.loads(value) if isinstance(value, str | bytes) else value for pk, value in rows
    }


def _update_segment(
    cursor, segment_id: int, criteria: dict, contact_ids: list[int], log: ChangeLog, using: str
) -> tuple[int, int]:
    """One live segment's membership of these contacts brought up to date; (joined, left)."""
    vendor = connections[using].vendor
    match, keep = _statements(criteria, using).bound(vendor, contact_ids)
    came, gone = update_within(cursor, Segment(pk=segment_id), match, keep, log, contact_ids)
    if came or gone:
        Segment.objects.using(using).filter(pk=segment_id).update(
            member_count=F("member_count") + came - gone
        )
    return came, gone


def _stop_live_updates(segment_id: int, exc: Exception, using: str) -> None:
    """Mark the segment's live updates stopped, with the error; audited once, when they stop."""
    logger.error(
        "Live update of segment %s failed; it is skipped until fixed", segment_id, exc_info=exc
    )
    error = f"{type(exc).__name__}: {exc}"[:2000]
    stopped = Segment.objects.using(using).filter(pk=segment_id, live_failed_at__isnull=True)
    if stopped.update(live_error=error, live_failed_at=timezone.now()):
        segment = Segment.objects.using(using).get(pk=segment_id)
        record_event(None, Action.SEGMENT_LIVE_FAILED, segment, {"error": error})


def _apply_in_order(
    cursor, order: list[int], live: dict, contact_ids: list[int], log, using: str, *, isolate: bool
) -> tuple[int, int]:
    """Each live segment's update, in dependency order (a segment testing another sees
    its new membership); (joined, left). With `isolate`, each runs in a savepoint (on
    PostgreSQL a failed statement aborts the transaction) and a failing one is stopped
    and skipped; without, the first failure is raised."""
    joined = left = 0
    for segment_id in order:
        if not isolate:
            came, gone = _update_segment(
                cursor, segment_id, live[segment_id], contact_ids, log, using
            )
        else:
            try:
                with transaction.atomic(using=using):
                    came, gone = _update_segment(
                        cursor, segment_id, live[segment_id], contact_ids, log, using
                    )
            except TRANSIENT_ERRORS:
                raise
            except Exception as exc:
                _stop_live_updates(segment_id, exc, using)
                continue
        joined, left = joined + came, left + gone
    return joined, left


def _update_batch(
    contact_ids: list[int], segment_ids: list[int] | None, using: str
) -> tuple[int, int, int]:
    """The live segments' membership of these contacts brought up to date, in one
    transaction (one commit per batch, not per segment); (segments, joined, left)."""
    connection = connections[using]
    with transaction.atomic(using=using):
        # No contact is deleted while this batch may still add it (no foreign key would).
        hold_contacts(using)
        live = _lock_live_segments(segment_ids, using)
        if not live:
            return 0, 0, 0
        edges = CriteriaReference.objects.using(using).filter(
            segment_id__in=list(live), target_id__in=list(live)
        )
        order = dependency_order(live, edges.values_list("segment_id", "target_id"))
        log = ChangeLog(ChangeReason.LIVE, timezone.now())
        with connection.cursor() as cursor:
            apply = partial(_apply_in_order, cursor, order, live, contact_ids, log, using)
            try:
                # One savepoint for them all: when every segment is fine (nearly always)
                # the batch pays two round trips, not two per live segment.
                with transaction.atomic(using=using):
                    joined, left = apply(isolate=False)
            except TRANSIENT_ERRORS:
                raise
            except Exception:
                # One failed: all rolled back; again, each in a savepoint of its own, so
                # that the failing ones are found and stopped and the others applied.
                joined, left = apply(isolate=True)
    return len(order), joined, left


def update_live_segments(
    contact_ids: Sequence[int], *, segment_ids: Sequence[int] | None = None
) -> LiveUpdate:
    """Re-evaluate these contacts against every live segment (or those of `segment_ids`
    that are live): they join and leave as a sync would make them, recorded as live
    updates. One transaction per BATCH_SIZE contacts. Safe to run again: a second run
    finds nothing to change.

    ValueError when an id is not a positive integer.
    """
    ids = clean_ids(contact_ids)
    if segment_ids is not None:
        segment_ids = clean_ids(segment_ids, "segment_ids") if segment_ids else []
    if not ids or segment_ids == []:
        return NOTHING
    using = segment_database()
    live = Segment.objects.using(using).filter(mode=SegmentMode.LIVE)
    if segment_ids is not None:
        live = live.filter(pk__in=segment_ids)
    if not live.exists():
        return NOTHING
    segments = joined = left = 0
    for start in range(0, len(ids), BATCH_SIZE):
        batch = ids[start : start + BATCH_SIZE]
        batch_segments, batch_joined, batch_left = _update_batch(batch, segment_ids, using)
        segments = max(segments, batch_segments)
        joined, left = joined + batch_joined, left + batch_left
    return LiveUpdate(contacts=len(ids), segments=segments, joined=joined, left=left)


# --- after a sync --------------------------------------------------------------------------------


def update_after_sync(run_id: int) -> LiveUpdate:
    """Re-evaluate the contacts a sync run changed against the live segments that depend
    on its segment, BATCH_SIZE at a time."""
    using = segment_database()
    segment_id = (
        SyncRun.objects.using(using).filter(pk=run_id).values_list("segment_id", flat=True).first()
    )
    dependents = live_dependents(segment_id) if segment_id is not None else []
    if not dependents:
        return NOTHING
    changes = MembershipChange.objects.using(using).filter(sync_run_id=run_id).order_by("pk")
    total, after = NOTHING, 0
    while True:
        rows = list(changes.filter(pk__gt=after).values_list("pk", "contact_id")[:BATCH_SIZE])
        if not rows:
            return total
        after = rows[-1][0]
        total += update_live_segments([contact for _, contact in rows], segment_ids=dependents)
