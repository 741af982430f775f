"""Syncing a segment: replace its rule-based membership with what the criteria match now.

Set-based SQL only: the criteria are compiled once into a `SELECT` of contact
ids that the statements below embed; no contact is ever fetched into Python.
Rules (issue 4):

- members by rule = contacts matching the criteria, minus those removed by hand;
- a manual addition stays while it matches at least one top-level condition
  (segments.criteria.compile_keep); no conditions keep every manual addition;
- a contact removed by hand is never re-added by a sync.

The whole replacement is one transaction. Two syncs of one segment never
interleave: on PostgreSQL a transaction-scoped advisory lock turns the second
into SyncInProgress (or makes it wait); SQLite's IMMEDIATE transactions already
serialise writers. A failed sync rolls back and is recorded as a failed run,
saved after (outside) the rolled-back transaction.

Each run is in the audit log: a successful one as "segment.synced" (who, counts),
written in the sync's transaction; a failed one as "segment.sync_failed", written
with the failed run, since who tried and why it failed is worth seeing there too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import OperationalError, connections, router, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import User
from audit.choices import Action
from audit.services import record_event
from contacts.models import Contact
from segments.choices import AddedHow, SyncOutcome
from segments.criteria import compile_criteria, compile_keep, context
from segments.models import Segment, SegmentMember, SegmentRemoval, SyncRun

logger = logging.getLogger(__name__)

# Rows added plus removed after which PostgreSQL's statistics are refreshed (ANALYZE).
STATISTICS_REFRESH_AFTER = 10_000
# First key of PostgreSQL advisory locks held while a segment syncs (second: its id).
ADVISORY_LOCK_SPACE = 0x5E6


# Told each phase of a sync as it starts: its name and the share of the work done (0-100).
ProgressReporter = Callable[[str, int], None]


def _silent(phase: str, percent: int) -> None:
    pass


class SyncInProgress(Exception):
    """Another sync of the same segment is running."""

    def __init__(self, segment: Segment) -> None:
        super().__init__(f"A sync of “{segment.name}” is already in progress; try again shortly.")
        self.segment = segment


@dataclass(frozen=True)
class Counts:
    matched: int
    added: int
    removed: int
    members_after: int


def _select_ids(contacts: QuerySet) -> tuple[str, tuple]:
    """SQL and parameters of `SELECT … AS contact_id` for the given contacts."""
    ids = contacts.order_by().values(contact_id=F("pk"))
    return ids.query.get_compiler(using=contacts.db).as_sql()


def _take_sync_lock(segment: Segment, *, wait: bool, using: str) -> None:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return  # SQLite: the IMMEDIATE transaction already holds the only write lock
    function = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [ADVISORY_LOCK_SPACE, segment.pk % 2**31])
        acquired = cursor.fetchone()[0]
        # JIT compilation costs seconds and gains nothing on these one-pass statements.
        cursor.execute("SET LOCAL jit = off")
    if not wait and not acquired:
        raise SyncInProgress(segment)


def _not_among(cursor, rows: tuple) -> tuple[str, list]:
    """SQL (and parameters) true for a membership row whose contact is not in `rows`.

    PostgreSQL runs NOT EXISTS as a hashed anti-join (NOT IN over a large list would
    be rescanned per row). SQLite runs NOT EXISTS once per member; NOT IN builds the
    list once, as a temporary index, then probes it.
    """
    table = SegmentMember._meta.db_table
    sql, params = rows
    if cursor.db.vendor == "sqlite":
        return f"{table}.contact_id NOT IN (SELECT r.contact_id FROM ({sql}) r)", list(params)
    return (
        f"NOT EXISTS (SELECT 1 FROM ({sql}) r WHERE r.contact_id = {table}.contact_id)",
        list(params),
    )


def _delete_leavers(cursor, segment: Segment, match: tuple, keep: tuple | None) -> int:
    table = SegmentMember._meta.db_table
    condition, params = _not_among(cursor, match)
    cursor.execute(
        f"DELETE FROM {table} WHERE segment_id = %s AND added_how = %s AND {condition}",
        [segment.pk, AddedHow.RULE, *params],
    )
    removed = cursor.rowcount
    if keep is not None:
        condition, params = _not_among(cursor, keep)
        cursor.execute(
            f"DELETE FROM {table} WHERE segment_id = %s AND added_how = %s AND {condition}",
            [segment.pk, AddedHow.MANUAL, *params],
        )
        removed += cursor.rowcount
    return removed


def _insert_newcomers(cursor, segment: Segment, match: tuple, added_at: str) -> int:
    # Existing members are skipped by ON CONFLICT (the unique index), not by a NOT EXISTS
    # on this same table: PostgreSQL may run such an anti-join as a nested loop that
    # rescans every row the statement has inserted so far (quadratic at 300,000 rows).
    table = SegmentMember._meta.db_table
    removals = SegmentRemoval._meta.db_table
    match_sql, match_params = match
    cursor.execute(
        f"INSERT INTO {table} (segment_id, contact_id, added_how, added_at) "
        f"SELECT %s, m.contact_id, %s, %s FROM ({match_sql}) m "
        f"WHERE NOT EXISTS (SELECT 1 FROM {removals} r "
        f"WHERE r.segment_id = %s AND r.contact_id = m.contact_id) "
        # In id order the membership indexes grow at their end instead of at random
        # pages (a relative-date match comes in date order, so in random id order).
        f"ORDER BY m.contact_id ON CONFLICT DO NOTHING",
        [segment.pk, AddedHow.RULE, added_at, *match_params, segment.pk],
    )
    return cursor.rowcount


def _refresh_statistics(using: str) -> None:
    """Let PostgreSQL plan the next sync (and in_segment conditions) from true table sizes.

    Right after a big change the planner may still believe the membership table
    is nearly empty and pick nested loops over it; autovacuum fixes that only later.
    """
    with connections[using].cursor() as cursor:
        cursor.execute(f"ANALYZE {SegmentMember._meta.db_table}")


def _replace_membership(segment: Segment, using: str, progress: ProgressReporter) -> Counts:
    connection = connections[using]
    ctx = context()
    contacts = Contact.objects.using(using)
    match = _select_ids(contacts.filter(compile_criteria(segment.criteria, ctx)))
    keep_condition = compile_keep(segment.criteria, ctx)
    # An empty keep condition keeps every manual addition: no statement needed.
    keep = _select_ids(contacts.filter(keep_condition)) if keep_condition else None
    added_at = connection.ops.adapt_datetimefield_value(ctx.now)
    with connection.cursor() as cursor:
        progress("Removing contacts that no longer match", 10)
        removed = _delete_leavers(cursor, segment, match, keep)
        progress("Adding contacts that match", 45)
        added = _insert_newcomers(cursor, segment, match, added_at)
        progress("Counting members", 85)
        members_after, rule_members = _member_counts(cursor, segment)
        matched = rule_members + _matching_exceptions(cursor, segment, match)
    return Counts(matched=matched, added=added, removed=removed, members_after=members_after)


def _member_counts(cursor, segment: Segment) -> tuple[int, int]:
    """All members, and those there by rule, read from the membership index."""
    cursor.execute(
        f"SELECT COUNT(*), COUNT(CASE WHEN added_how = %s THEN 1 END) "
        f"FROM {SegmentMember._meta.db_table} WHERE segment_id = %s",
        [AddedHow.RULE, segment.pk],
    )
    return cursor.fetchone()


def _matching_exceptions(cursor, segment: Segment, match: tuple) -> int:
    """Matching contacts that are not members by rule: added or removed by hand.

    With the rule members, these make the number of matches, without evaluating
    the criteria over every contact a third time: hand-made changes are few, and
    each is probed against the criteria alone.
    """
    match_sql, match_params = match
    members, removals = SegmentMember._meta.db_table, SegmentRemoval._meta.db_table
    cursor.execute(
        f"SELECT (SELECT COUNT(*) FROM {members} x WHERE x.segment_id = %s AND x.added_how = %s "
        f"AND EXISTS (SELECT 1 FROM ({match_sql}) m WHERE m.contact_id = x.contact_id)) + "
        f"(SELECT COUNT(*) FROM {removals} x WHERE x.segment_id = %s "
        f"AND EXISTS (SELECT 1 FROM ({match_sql}) m WHERE m.contact_id = x.contact_id))",
        [segment.pk, AddedHow.MANUAL, *match_params, segment.pk, *match_params],
    )
    return cursor.fetchone()[0]


def _record_failure(
    segment: Segment,
    user: User | None,
    exc: Exception,
    started_at: datetime,
    clock: float,
    using: str,
) -> SyncRun:
    """A failed run and its audit entry, saved after the sync's transaction was rolled back."""
    logger.exception("Sync of segment %s failed", segment.pk, exc_info=exc)
    with transaction.atomic(using=using):
        members_now = (
            Segment.objects.using(using)
            .filter(pk=segment.pk)
            .values_list("member_count", flat=True)
            .first()
        )
        run = SyncRun.objects.using(using).create(
            segment=segment,
            triggered_by=user,
            started_at=started_at,
            finished_at=timezone.now(),
            criteria=segment.criteria,
            members_after=members_now or 0,
            duration_ms=round((time.monotonic() - clock) * 1000),
            outcome=SyncOutcome.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        Segment.objects.using(using).filter(pk=segment.pk).update(last_run=run)
        details = {"run_id": run.pk, "error": run.error}
        record_event(user, Action.SEGMENT_SYNC_FAILED, segment, details)
    segment.last_run = run
    return run


def sync_segment(
    segment: Segment,
    user: User | None,
    *,
    wait: bool = False,
    progress: ProgressReporter = _silent,
) -> SyncRun:
    """Re-evaluate the segment's criteria and replace its membership; return the run.

    Raises SyncInProgress when another sync of the segment holds the lock and
    `wait` is false (nothing is recorded then). Any other failure is returned as
    a failed run with the error, the previous membership left as it was.
    `progress` hears each phase as it starts (a background job shows them).
    """
    using = router.db_for_write(Segment)
    started_at = timezone.now()
    clock = time.monotonic()
    try:
        with transaction.atomic(using=using):
            progress("Waiting for other changes to this segment", 0)
            _take_sync_lock(segment, wait=wait, using=using)
            # The row lock orders the sync with manual adds and removes (services).
            locked = Segment.objects.using(using).select_for_update().get(pk=segment.pk)
            counts = _replace_membership(locked, using, progress)
            finished_at = timezone.now()
            run = SyncRun.objects.using(using).create(
                segment=locked,
                triggered_by=user,
                started_at=started_at,
                finished_at=finished_at,
                criteria=locked.criteria,
                matched=counts.matched,
                added=counts.added,
                removed=counts.removed,
                members_after=counts.members_after,
                duration_ms=round((time.monotonic() - clock) * 1000),
                outcome=SyncOutcome.SUCCEEDED,
            )
            Segment.objects.using(using).filter(pk=segment.pk).update(
                member_count=counts.members_after, last_synced_at=finished_at, last_run=run
            )
            details = {
                "run_id": run.pk,
                "matched": counts.matched,
                "added": counts.added,
                "removed": counts.removed,
                "total": counts.members_after,
            }
            record_event(user, Action.SEGMENT_SYNCED, locked, details)
            big_change = counts.added + counts.removed >= STATISTICS_REFRESH_AFTER
            if big_change and connections[using].vendor == "postgresql":
                transaction.on_commit(partial(_refresh_statistics, using), using=using, robust=True)
    except (SyncInProgress, Segment.DoesNotExist):
        raise
    except OperationalError as exc:
        if connections[using].vendor == "sqlite" and "locked" in str(exc):
            # IMMEDIATE took no write lock within busy_timeout: another writer holds it.
            raise SyncInProgress(segment) from exc
        return _record_failure(segment, user, exc, started_at, clock, using)
    except Exception as exc:
        return _record_failure(segment, user, exc, started_at, clock, using)
    segment.member_count = counts.members_after
    segment.last_synced_at = finished_at
    segment.last_run = run
    segment.criteria = locked.criteria
    return run
