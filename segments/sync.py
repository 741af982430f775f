"""Syncing a segment: replace its rule-based membership with what the criteria match now.

Set-based SQL only: the criteria are compiled once into a `SELECT` of contact
ids, evaluated once into a temporary table (segments.membership.fill_match_table)
that the statements of segments.membership then read: leavers are deleted and
newcomers inserted by anti-joins against it, so a re-sync that changes nothing
writes nothing, and the counts come from the statements' row counts. No contact is
ever fetched into Python. Every contact that joins or leaves is recorded as a
MembershipChange of the run, in the same statements.
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

A successful sync of a segment with a scheduled sync moves its next run to one
interval after the sync ended (segments.schedule), in the same UPDATE.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import OperationalError, connections, router, transaction
from django.utils import timezone

from accounts.models import User
from audit.choices import Action
from audit.services import record_event
from contacts.models import Contact
from core.planner import STATISTICS_REFRESH_AFTER, refresh_statistics
from core.transactions import after_commit
from segments.choices import AddedHow, ChangeReason, SyncOutcome
from segments.criteria import compile_criteria, compile_keep, context
from segments.membership import (
    ChangeLog,
    delete_leavers,
    drop_match_table,
    fill_match_table,
    insert_newcomers,
    select_ids,
)
from segments.models import Segment, SegmentMember, SyncRun
from segments.notify import follow_sync_run, hold_contacts
from segments.schedule import next_sync_after

logger = logging.getLogger(__name__)

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


class SegmentBusy(Exception):
    """A short change to a segment (an edit, a member added or removed, a delete) refused
    because a sync of it is running: it would otherwise wait for the whole sync."""

    def __init__(self, segment: Segment) -> None:
        super().__init__("A sync of this segment is running; try again when it finishes.")
        self.segment = segment


def refuse_while_syncing(segment: Segment, using: str | None = None) -> None:
    """SegmentBusy at once while a sync of the segment runs; never waits for it.

    On PostgreSQL the try-lock, when it succeeds, holds the sync lock until the
    caller's transaction ends, so no sync starts under the change either. SQLite has
    one writer at a time: the caller's IMMEDIATE transaction already orders the two.
    """
    using = using or router.db_for_write(Segment)
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(%s, %s)", [ADVISORY_LOCK_SPACE, segment.pk % 2**31]
        )
        if not cursor.fetchone()[0]:
            raise SegmentBusy(segment)


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
        # The match table and the newcomers' sort stay in memory (300,000 ids: ~20 MB).
        cursor.execute("SET LOCAL work_mem = '64MB'")
    if not wait and not acquired:
        raise SyncInProgress(segment)


def _replace_membership(
    segment: Segment, using: str, progress: ProgressReporter, run: SyncRun
) -> Counts:
    connection = connections[using]
    ctx = context()
    contacts = Contact.objects.using(using)
    match = select_ids(contacts.filter(compile_criteria(segment.criteria, ctx)))
    keep_condition = compile_keep(segment.criteria, ctx)
    # An empty keep condition keeps every manual addition: no statement needed. Otherwise
    # it is tested on the manual members only, which are few, not on every contact.
    manual = SegmentMember.objects.using(using).filter(segment=segment, added_how=AddedHow.MANUAL)
    keep = (
        select_ids(contacts.filter(keep_condition, pk__in=manual.values("contact_id")))
        if keep_condition
        else None
    )
    log = ChangeLog(ChangeReason.SYNC, ctx.now, run_id=run.pk)
    with connection.cursor() as cursor:
        progress("Finding the contacts that match", 5)
        # The criteria are evaluated once; every step below reads the result.
        found, matched = fill_match_table(cursor, match)
        progress("Removing contacts that no longer match", 40)
        removed = delete_leavers(cursor, segment, found, keep, log)
        progress("Adding contacts that match", 60)
        added = insert_newcomers(cursor, segment, found, log)
        drop_match_table(cursor)
    # The counter is exact (every membership write moves it under the segment's row lock,
    # held here): no count of 300,000 rows to learn what the statements just said.
    members_after = max(segment.member_count + added - removed, 0)
    return Counts(matched=matched, added=added, removed=removed, members_after=members_after)


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
            # No contact is deleted while the sync may still add it (no foreign key would).
            hold_contacts(using)
            # The row lock orders the sync with manual adds and removes (services). NO KEY:
            # rows that merely refer to the segment (criteria references, jobs) need not wait.
            locked = Segment.objects.using(using).select_for_update(no_key=True).get(pk=segment.pk)
            # Made first, so that the membership changes can name it; filled in below.
            run = SyncRun.objects.using(using).create(
                segment=locked,
                triggered_by=user,
                started_at=started_at,
                criteria=locked.criteria,
                outcome=SyncOutcome.SUCCEEDED,
            )
            counts = _replace_membership(locked, using, progress, run)
            finished_at = timezone.now()
            run.finished_at = finished_at
            run.matched, run.added = counts.matched, counts.added
            run.removed, run.members_after = counts.removed, counts.members_after
            run.duration_ms = round((time.monotonic() - clock) * 1000)
            run.save(
                using=using,
                update_fields=[
                    "finished_at",
                    "matched",
                    "added",
                    "removed",
                    "members_after",
                    "duration_ms",
                ],
            )
            # Every successful sync, by hand or scheduled, starts the schedule's interval anew.
            next_sync_at = next_sync_after(locked, finished_at)
            Segment.objects.using(using).filter(pk=segment.pk).update(
                member_count=counts.members_after,
                last_synced_at=finished_at,
                last_run=run,
                next_sync_at=next_sync_at,
                # Members are right again: live updates of a segment stopped on an error resume.
                live_error="",
                live_failed_at=None,
            )
            details = {
                "run_id": run.pk,
                "matched": counts.matched,
                "added": counts.added,
                "removed": counts.removed,
                "total": counts.members_after,
            }
            record_event(user, Action.SEGMENT_SYNCED, locked, details)
            if counts.added or counts.removed:
                # Live segments whose criteria test membership of this one follow it.
                after_commit(follow_sync_run, run.pk, locked.pk, using=using)
            if counts.added + counts.removed >= STATISTICS_REFRESH_AFTER:
                # The next sync (and in_segment conditions) planned from true sizes.
                after_commit(refresh_statistics, using, SegmentMember, using=using)
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
    segment.next_sync_at = next_sync_at
    segment.last_run = run
    segment.criteria = locked.criteria
    segment.live_error, segment.live_failed_at = "", None
    return run
