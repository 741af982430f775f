"""Scheduled sync of manual segments: intervals, staleness, and the dispatcher beat runs.

A manual segment may sync on its own every 15 minutes, hourly or daily
(Segment.sync_schedule, off by default). `next_sync_at` says when it is next due:
set when the schedule is chosen (set_schedule, called by segments.services), pushed
one interval past every successful sync, whoever started it (segments.sync), and
pushed one interval ahead by the dispatcher when it starts one.

Celery beat runs `dispatch_due_syncs` every minute (segments.tasks); without beat,
the run_scheduled_syncs command does the same from cron. Live segments have no
schedule (a check constraint): they follow changes on their own.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import connections, router, transaction
from django.db.models import Case, DateTimeField, Q, Value, When
from django.utils import timezone

from segments.choices import SYNC_INTERVALS, SegmentMode, SyncSchedule
from segments.models import Segment

logger = logging.getLogger(__name__)

# A scheduled segment counts as stale only this long after its interval has passed:
# the dispatcher ticks once a minute and the sync itself takes a while, so a segment
# synced on time is never flagged in the minute or two before its next run lands.
STALE_GRACE = timedelta(minutes=2)


def interval_of(schedule: str) -> timedelta | None:
    """Time between two scheduled syncs; None for Off (ValueError for an unknown value)."""
    return SyncSchedule(schedule).interval


def next_sync_after(segment: Segment, moment: datetime) -> datetime | None:
    """When a scheduled sync is next due if the segment synced at `moment`; None when off."""
    interval = interval_of(segment.sync_schedule)
    return moment + interval if interval is not None else None


def is_stale(segment: Segment, now: datetime) -> bool:
    """A scheduled segment whose last successful sync is older than its interval (plus grace).

    Never for segments without a schedule: their members change only when someone asks.
    """
    interval = interval_of(segment.sync_schedule)
    if interval is None or segment.mode != SegmentMode.MANUAL:
        return False
    if segment.last_synced_at is None:
        return True
    return now - segment.last_synced_at > interval + STALE_GRACE


def next_run(segment: Segment) -> datetime | None:
    """When the dispatcher will next sync the segment (None without a schedule).

    May be in the past when beat is not running: the run is then overdue.
    """
    if segment.sync_schedule == SyncSchedule.OFF or segment.mode != SegmentMode.MANUAL:
        return None
    return segment.next_sync_at


def set_schedule(segment: Segment, schedule: str, *, now: datetime | None = None) -> list[str]:
    """Give the segment `schedule`, first due one interval from now (None when off).

    Sets the fields on the instance and returns their names; the caller saves them
    in its transaction (segments.services, which also checks the mode allows it).
    """
    segment.sync_schedule = SyncSchedule(schedule)
    segment.next_sync_at = next_sync_after(segment, now or timezone.now())
    return ["sync_schedule", "next_sync_at"]


def _next_due(now: datetime) -> Case:
    """now + each row's own interval, in the UPDATE itself."""
    return Case(
        *(
            When(sync_schedule=schedule, then=Value(now + step))
            for schedule, step in SYNC_INTERVALS.items()
        ),
        default=Value(None),
        output_field=DateTimeField(),
    )


def dispatch_due_syncs(now: datetime | None = None) -> int:
    """Start the sync of every scheduled manual segment that is due; return how many.

    The due rows are locked and moved one interval ahead in one transaction, so two
    beat ticks or two dispatchers at once never start the same segment twice: on
    PostgreSQL the second skips the rows the first holds (SKIP LOCKED) and, once the
    first commits, no longer finds them due; SQLite's IMMEDIATE transactions let one
    writer in at a time. The syncs are requested after that commit, each through
    request_sync, which reuses a sync job already queued or running for the segment.
    Must be called outside any transaction (a task or a command).
    """
    # segments.jobs imports segments.sync, which imports this module for next_sync_after.
    from segments.jobs import request_sync

    now = now or timezone.now()
    using = router.db_for_write(Segment)
    skip_locked = connections[using].features.has_select_for_update_skip_locked
    with transaction.atomic(using=using):
        due = (
            Segment.objects.using(using)
            .filter(~Q(sync_schedule=SyncSchedule.OFF), next_sync_at__lte=now)
            .filter(mode=SegmentMode.MANUAL)
            .select_for_update(skip_locked=skip_locked)
            .order_by("pk")
        )
        ids = list(due.values_list("pk", flat=True))
        if ids:
            Segment.objects.using(using).filter(pk__in=ids).update(next_sync_at=_next_due(now))
    started = 0
    for segment in Segment.objects.using(using).filter(pk__in=ids).order_by("pk"):
        try:
            request_sync(segment, None, scheduled=True)
        except Exception:  # one segment's trouble must not hold up the others
            logger.exception("Scheduled sync of segment %s could not start", segment.pk)
            continue
        started += 1
    return started
