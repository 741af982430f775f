"""Every way background segment work starts: syncs and CSV exports, as jobs (jobs.services).

Every background sync is a job, whichever way it starts, so the Jobs page lists them
all: `request_sync` is called by the Sync button and the API (segments.views,
segments.api), by `dispatch_due_syncs` for the scheduled syncs that are due, by the
sync task of a segment made live or given new criteria (segments.tasks, queued by
segments.services), and by `sweep`, which re-syncs the live segments whose criteria
use relative dates. Celery beat runs the dispatcher and the sweep through
segments.tasks; the run_scheduled_syncs command does without beat. `request_export`
is called by the pages and the API.

`run_sync` and `run_export` are the jobs' bodies, run by a Celery worker or inline
(jobs.services.HANDLERS names them); the syncing itself is segments.sync.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Case, DateTimeField, Q, Value, When
from django.utils import timezone

from accounts.models import User
from jobs import services as jobs
from jobs.choices import ACTIVE_STATES, JobKind, JobState
from jobs.models import Job
from segments.choices import SYNC_INTERVALS, SegmentMode, SyncOutcome, SyncSchedule, SyncStart
from segments.export import csv_chunks, export_columns, export_filename
from segments.models import Segment, SyncRun
from segments.sync import SyncInProgress, sync_segment

logger = logging.getLogger(__name__)

# First key of the PostgreSQL advisory locks that requests for a segment's sync job take
# (second: its id); segments.sync's lock space is the one before.
REQUEST_LOCK_SPACE = 0x5E7
# Progress is reported every this many exported rows.
EXPORT_PROGRESS_EVERY = 10_000


# Titles in the jobs list: what started each sync, in the user's words.
SYNC_TITLES = {
    SyncStart.BY_HAND: "Sync of “{name}”",
    SyncStart.SCHEDULE: "Scheduled sync of “{name}”",
    SyncStart.MADE_LIVE: "Sync of “{name}” (made live)",
    SyncStart.NEW_CRITERIA: "Sync of “{name}” (new criteria)",
    SyncStart.SWEEP: "Sync of “{name}” (relative dates moved on)",
}
# Syncs started because the criteria just changed (a segment made live, a live one given
# new criteria) must read them after that change. A running sync may have read them
# before, so these never join one: they join a queued job (it reads the criteria when it
# starts) or queue a job of their own, which waits for the running sync to end.
AFTER_A_CHANGE = frozenset({SyncStart.MADE_LIVE, SyncStart.NEW_CRITERIA})


def request_sync(
    segment: Segment, user: User | None, *, start: SyncStart = SyncStart.BY_HAND
) -> Job:
    """A sync job for the segment: the one already queued or running, or a new one,
    titled after what started it (`start`: the Sync button or the API by default).

    Requests at once agree on one job, without waiting for a running sync. Without a
    broker the new job has run by the time this returns.
    """
    return _request_sync(segment, user, SyncStart(start))[0]


def _request_sync(segment: Segment, user: User | None, start: SyncStart) -> tuple[Job, bool]:
    """The job, and whether it is a new one (False: an active job was joined).

    Never waits for a running sync (which holds the segment's row lock for its whole
    run): most requests meanwhile find its job with a plain read and join it; the
    others agree on one new job under a lock of their own (PostgreSQL: an advisory
    lock only requests take, held for this short transaction; SQLite: the IMMEDIATE
    transaction's write lock).
    """
    states = (JobState.QUEUED,) if start in AFTER_A_CHANGE else ACTIVE_STATES
    job = jobs.active_job(segment, JobKind.SEGMENT_SYNC, states)
    if job is not None:
        return job, False
    with transaction.atomic():
        _serialise_requests(segment)
        current = Segment.objects.get(pk=segment.pk)
        job = jobs.active_job(current, JobKind.SEGMENT_SYNC, states)
        if job is not None:
            return job, False
        job = jobs.create_job(
            JobKind.SEGMENT_SYNC,
            title=SYNC_TITLES[start].format(name=current.name),
            params={"segment_id": current.pk, "start": start.value},
            user=user,
            segment=current,
        )
    return jobs.launch(job), True


def _serialise_requests(segment: Segment) -> None:
    connection = connections[router.db_for_write(Job)]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            key = [REQUEST_LOCK_SPACE, segment.pk % 2**31]
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", key)


def sync_result(run: SyncRun) -> dict:
    return {
        "run_id": run.pk,
        "outcome": run.outcome,
        "matched": run.matched,
        "added": run.added,
        "removed": run.removed,
        "members_after": run.members_after,
        "duration_ms": run.duration_ms,
    }


def run_sync(job: Job, progress: jobs.ProgressReporter) -> dict:
    segment = Segment.objects.filter(pk=job.params["segment_id"]).first()
    if segment is None:
        raise jobs.JobFailed("The segment was deleted before its sync ran.")
    # A sync after a change of criteria waits for one running (see AFTER_A_CHANGE);
    # the others leave the segment to it and try again later.
    wait = job.params.get("start") in AFTER_A_CHANGE
    try:
        run = sync_segment(segment, job.created_by, wait=wait, progress=progress)
    except SyncInProgress as busy:
        raise jobs.RetryLater(str(busy)) from busy
    if run.outcome == SyncOutcome.FAILED:
        raise jobs.JobFailed(
            f"Sync failed; the membership is unchanged. {run.error}", result=sync_result(run)
        )
    return sync_result(run)


# --- syncs that start on their own: the schedule and the sweep ---------------------------------


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
            request_sync(segment, None, start=SyncStart.SCHEDULE)
        except Exception:  # one segment's trouble must not hold up the others
            logger.exception("Scheduled sync of segment %s could not start", segment.pk)
            continue
        started += 1
    return started


def sweep(segments: list[Segment]) -> dict:
    """A sync job for each segment, requested in the order given (segments.live's
    segments_to_sweep: dependency order); how many of them

    - synced: ran here and succeeded (without a broker);
    - queued: went to a worker, which reports on each on the Jobs page;
    - busy: joined a sync job of the segment already queued or running, which does the
      same work (a sync reads the clock when it starts);
    - failed: could not start, or ran here and failed (logged either way).
    """
    counts = {"synced": 0, "queued": 0, "busy": 0, "failed": 0}
    for segment in segments:
        try:
            job, new = _request_sync(segment, None, SyncStart.SWEEP)
        except Exception:  # one segment's trouble must not hold up the others
            logger.exception("Sweep of live segment %s could not start", segment.pk)
            counts["failed"] += 1
            continue
        if not new:
            counts["busy"] += 1
        elif job.state == JobState.SUCCEEDED:
            counts["synced"] += 1
        elif job.state == JobState.FAILED:
            counts["failed"] += 1
            logger.warning("Sweep of live segment %s failed: %s", segment.pk, job.error)
        else:
            counts["queued"] += 1
    return counts


# --- exports --------------------------------------------------------------------------------------


def request_export(segment: Segment, user: User | None) -> Job:
    return jobs.start_job(
        JobKind.SEGMENT_EXPORT,
        title=f"Export of “{segment.name}”",
        params={"segment_id": segment.pk},
        user=user,
        segment=segment,
    )


def run_export(job: Job, progress: jobs.ProgressReporter) -> dict:
    """Write the members' CSV to the job's file, streamed: memory stays flat."""
    segment = Segment.objects.filter(pk=job.params["segment_id"]).first()
    if segment is None:
        raise jobs.JobFailed("The segment was deleted before its export ran.")
    total = max(segment.member_count, 1)
    members = reported = 0

    def counted(rows: int) -> None:  # told after each chunk: the rows written so far
        nonlocal members, reported
        members = rows
        if rows - reported >= EXPORT_PROGRESS_EVERY:
            reported = rows
            progress(f"Exported {rows:,} of about {total:,} members", min(99 * rows // total, 99))

    path = jobs.job_file(job)
    progress("Exporting members", 0)

    with path.open("w", encoding="utf-8", newline="") as file:
        # The file holds what the job's creator may export (segments.export.export_columns).
        columns = export_columns(job.created_by)
        for chunk in csv_chunks(segment, columns, on_rows=counted):
            file.write(chunk)
    return {
        "rows": members,
        "filename": export_filename(segment),
        "bytes": path.stat().st_size,
        "file_max_age_hours": settings.COHORT_JOB_FILE_HOURS,
    }
