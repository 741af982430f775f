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
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.db import OperationalError, connections, router, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import User
from contacts.models import Contact
from segments.choices import AddedHow, SyncOutcome
from segments.criteria import compile_criteria, compile_keep, context
from segments.models import Segment, SegmentMember, SegmentRemoval, SyncRun

logger = logging.getLogger(__name__)

# Rows added plus removed after which PostgreSQL's statistics are refreshed (ANALYZE).
STATISTICS_REFRESH_AFTER = 10_000
# First key of PostgreSQL advisory locks held while a segment syncs (second: its id).
ADVISORY_LOCK_SPACE = 0x5E6


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


def _delete_leavers(cursor, segment: Segment, match: tuple, keep: tuple | None) -> int:
    table = SegmentMember._meta.db_table
    match_sql, match_params = match
    cursor.execute(
        f"DELETE FROM {table} WHERE segment_id = %s AND added_how = %s "
        f"AND NOT EXISTS (SELECT 1 FROM ({match_sql}) m WHERE m.contact_id = {table}.contact_id)",
        [segment.pk, AddedHow.RULE, *match_params],
    )
    removed = cursor.rowcount
    if keep is not None:
        keep_sql, keep_params = keep
        cursor.execute(
            f"DELETE FROM {table} WHERE segment_id = %s AND added_how = %s "
            f"AND NOT EXISTS (SELECT 1 FROM ({keep_sql}) k "
            f"WHERE k.contact_id = {table}.contact_id)",
            [segment.pk, AddedHow.MANUAL, *keep_params],
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
        f"ON CONFLICT DO NOTHING",
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


def _replace_membership(segment: Segment, using: str) -> Counts:
    connection = connections[using]
    ctx = context()
    contacts = Contact.objects.using(using)
    match = _select_ids(contacts.filter(compile_criteria(segment.criteria, ctx)))
    keep_condition = compile_keep(segment.criteria, ctx)
    # An empty keep condition keeps every manual addition: no statement needed.
    keep = _select_ids(contacts.filter(keep_condition)) if keep_condition else None
    added_at = connection.ops.adapt_datetimefield_value(ctx.now)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({match[0]}) m", match[1])
        matched = cursor.fetchone()[0]
        removed = _delete_leavers(cursor, segment, match, keep)
        added = _insert_newcomers(cursor, segment, match, added_at)
        cursor.execute(
            f"SELECT COUNT(*) FROM {SegmentMember._meta.db_table} WHERE segment_id = %s",
            [segment.pk],
        )
        members_after = cursor.fetchone()[0]
    return Counts(matched=matched, added=added, removed=removed, members_after=members_after)


def _record_failure(
    segment: Segment,
    user: User | None,
    exc: Exception,
    started_at: datetime,
    clock: float,
    using: str,
) -> SyncRun:
    """A failed run, saved after the sync's transaction was rolled back."""
    logger.exception("Sync of segment %s failed", segment.pk, exc_info=exc)
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
    segment.last_run = run
    return run


def sync_segment(segment: Segment, user: User | None, *, wait: bool = False) -> SyncRun:
    """Re-evaluate the segment's criteria and replace its membership; return the run.

    Raises SyncInProgress when another sync of the segment holds the lock and
    `wait` is false (nothing is recorded then). Any other failure is returned as
    a failed run with the error, the previous membership left as it was.
    """
    using = router.db_for_write(Segment)
    started_at = timezone.now()
    clock = time.monotonic()
    try:
        with transaction.atomic(using=using):
            _take_sync_lock(segment, wait=wait, using=using)
            # The row lock orders the sync with manual adds and removes (services).
            locked = Segment.objects.using(using).select_for_update().get(pk=segment.pk)
            counts = _replace_membership(locked, using)
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
