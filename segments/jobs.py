"""Segment work that runs as background jobs (jobs.services): sync and CSV export.

`request_sync` and `request_export` are what views and the API call; `run_sync`
and `run_export` are the jobs' bodies, run by a Celery worker or inline.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from accounts.models import User
from core.csv import csv_chunks
from jobs import services as jobs
from jobs.choices import JobKind
from jobs.models import Job
from segments.choices import SyncOutcome
from segments.export import export_filename, export_rows
from segments.models import Segment, SyncRun
from segments.sync import SyncInProgress, sync_segment

# Progress is reported every this many exported rows.
EXPORT_PROGRESS_EVERY = 10_000


def request_sync(segment: Segment, user: User | None, *, scheduled: bool = False) -> Job:
    """A sync job for the segment: the one already queued or running, or a new one
    (`scheduled`: started by the segment's schedule, and titled so in the jobs list).

    The segment's row lock makes two requests at once agree on one job.
    """
    with transaction.atomic():
        locked = Segment.objects.select_for_update().get(pk=segment.pk)
        job = jobs.active_job(locked, JobKind.SEGMENT_SYNC)
        if job is not None:
            return job
        job = jobs.create_job(
            JobKind.SEGMENT_SYNC,
            title=f"{'Scheduled sync' if scheduled else 'Sync'} of “{locked.name}”",
            params={"segment_id": locked.pk},
            user=user,
            segment=locked,
        )
    return jobs.launch(job)


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
    try:
        run = sync_segment(segment, job.created_by, progress=progress)
    except SyncInProgress as busy:
        raise jobs.RetryLater(str(busy)) from busy
    if run.outcome == SyncOutcome.FAILED:
        raise jobs.JobFailed(
            f"Sync failed; the membership is unchanged. {run.error}", result=sync_result(run)
        )
    return sync_result(run)


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
    rows = 0

    def counted(source):
        nonlocal rows
        for row in source:
            yield row
            rows += 1
            if rows % EXPORT_PROGRESS_EVERY == 0:
                progress(f"Exported {rows:,} of about {total:,} members", 99 * rows // total)

    path = jobs.job_file(job)
    progress("Exporting members", 0)
    with path.open("w", encoding="utf-8", newline="") as file:
        for chunk in csv_chunks(counted(export_rows(segment))):
            file.write(chunk)
    members = max(rows - 1, 0)  # less the header
    return {
        "rows": members,
        "filename": export_filename(segment),
        "bytes": path.stat().st_size,
        "file_max_age_hours": settings.COHORT_JOB_FILE_HOURS,
    }
