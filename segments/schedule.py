"""Scheduled sync of manual segments: intervals, staleness and the next run, as plain rules.

A manual segment may sync on its own every 15 minutes, hourly or daily
(Segment.sync_schedule, off by default). `next_sync_at` says when it is next due:
set when the schedule is chosen (set_schedule, called by segments.services), pushed
one interval past every successful sync, whoever started it (next_sync_after, called
by segments.sync), and pushed one interval ahead by the dispatcher when it starts one
(segments.jobs.dispatch_due_syncs). Pages and the API read is_stale and next_run.

Pure: nothing here queries, locks or starts work, so every layer of segments may use it.
Live segments have no schedule (a check constraint): they follow changes on their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from segments.choices import SegmentMode, SyncSchedule
from segments.models import Segment

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
