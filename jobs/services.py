"""Starting, running and reading background jobs.

`start_job` records a job and hands it to Celery after commit; without a broker
(settings.CELERY_TASK_ALWAYS_EAGER) it runs at once, inline, through the same
`run_job`, so both paths give the same result. `run_job` is what the Celery task
calls: it is safe to run twice (a finished job is left alone; a job whose worker
died is run again, its work having rolled back with the worker's transaction).

Each kind's work is a plain function in its own app (HANDLERS), given the job and
a progress reporter, returning the result to keep; it raises JobFailed for an
outcome the user should read, RetryLater when it must wait for a lock.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts.models import User
from core.degraded import warn_every
from core.queue import QueueUnavailable, enqueue
from jobs.choices import ACTIVE_STATES, JobKind, JobState
from jobs.models import Job

logger = logging.getLogger(__name__)

HANDLERS = {
    JobKind.SEGMENT_SYNC: "segments.jobs.run_sync",
    JobKind.SEGMENT_EXPORT: "segments.jobs.run_export",
    JobKind.BULK_TAG: "tags.jobs.run_bulk_tag",
    JobKind.IMPORT: "transfers.jobs.run_import_job",
}
RECORD_MODELS = [("contacts", "contact"), ("leads", "lead"), ("deals", "deal")]
# A job whose worker died this many times (killed, out of memory) is not tried again.
MAX_ATTEMPTS = 3
PROGRESS_KEY = "jobs:progress:{}"
PROGRESS_TTL = 24 * 3600
ProgressReporter = Callable[[str, int], None]


class JobFailed(Exception):
    """The job ended without doing its work; the message is for the person who asked."""

    def __init__(self, message: str, result: dict | None = None) -> None:
        super().__init__(message)
        self.result = result


class RetryLater(Exception):
    """The job cannot start yet (another run holds its lock); the queue tries again later."""

    def __init__(self, message: str, seconds: int = 5) -> None:
        super().__init__(message)
        self.seconds = seconds


def runs_inline() -> bool:
    return bool(settings.CELERY_TASK_ALWAYS_EAGER)


def start_job(kind: JobKind, *, title: str, params: dict, user: User | None, segment=None) -> Job:
    """Record a job and have it run: by a worker after commit, or inline without a broker."""
    return launch(create_job(kind, title=title, params=params, user=user, segment=segment))


def create_job(kind: JobKind, *, title: str, params: dict, user: User | None, segment=None) -> Job:
    """Record a queued job; with a broker it is queued when the caller's transaction commits.

    Without one, the caller runs it with `launch` once its own transaction is over.
    """
    job = Job.objects.create(
        kind=kind, title=title[:300], params=params, created_by=user, segment=segment
    )
    if not runs_inline():
        transaction.on_commit(partial(_enqueue, job.pk))
    return job


def launch(job: Job) -> Job:
    """Without a broker, run the job now, inline; with one, it is already queued."""
    return run_job(job.pk) if runs_inline() else job


def _enqueue(job_id) -> None:
    """Queue the job (on commit); QueueUnavailable, the job failed saying so, when the
    broker is down: pages and the API answer 503 with Retry-After (M1)."""
    try:
        enqueue("jobs.run_job", str(job_id))
    except QueueUnavailable as unavailable:
        _finish(
            job_id,
            JobState.FAILED,
            error="The job queue could not be reached, so nothing was done; "
            f"try again in {unavailable.retry_after} seconds.",
        )
        raise


def _progress_cache(method: str, *args):
    """A cache call for live progress, which is best effort: with the cache (Redis) down
    a job still runs and finishes, its progress read from the database instead."""
    try:
        return getattr(cache, method)(*args)
    except Exception as error:
        warn_every(
            logger, "cache", "Job progress cache unavailable (%s: %s)", type(error).__name__, error
        )
        return None


def progress_reporter(job_id) -> ProgressReporter:
    """Records each phase where every process sees it at once.

    The work often runs in one long transaction, whose writes nobody sees before it
    commits; the cache (Redis with a broker, shared by web and workers) is outside it.
    """

    def report(phase: str, percent: int) -> None:
        percent = max(0, min(100, int(percent)))
        _progress_cache("set", PROGRESS_KEY.format(job_id), (phase, percent), PROGRESS_TTL)
        if not connection.in_atomic_block:
            Job.objects.filter(pk=job_id).update(phase=phase[:200], progress=percent)

    return report


def with_live_progress(job: Job) -> Job:
    """The job as stored, with the running phase and progress its worker last reported."""
    if job.state == JobState.RUNNING:
        reported = _progress_cache("get", PROGRESS_KEY.format(job.pk))
        if reported:
            job.phase, job.progress = reported
    return job


def _begin(job_id) -> Job | None:
    """Mark the job running, or return None when there is nothing (more) to do."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.finished:
            return None  # a redelivered task of a finished job, or one deleted with its segment
        if job.attempts >= MAX_ATTEMPTS:
            job.state, job.finished_at = JobState.FAILED, timezone.now()
            job.error = (
                f"Stopped after {job.attempts} attempts: the process running it stopped "
                "each time before the end (restarted or out of memory). Nothing was changed."
            )
            job.save(update_fields=["state", "finished_at", "error"])
            return None
        job.state = JobState.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.worker = f"{socket.gethostname()}:{os.getpid()}"[:200]
        job.phase, job.progress = ("Starting", 0) if job.attempts == 1 else ("Starting again", 0)
        job.save(update_fields=["state", "attempts", "started_at", "worker", "phase", "progress"])
    _progress_cache("delete", PROGRESS_KEY.format(job.pk))
    return job


def _finish(job_id, state: JobState, *, result: dict | None = None, error: str = "") -> None:
    fields = {"state": state, "finished_at": timezone.now(), "result": result, "error": error}
    if state == JobState.SUCCEEDED:
        fields.update(phase="Done", progress=100)
    Job.objects.filter(pk=job_id).update(**fields)
    _progress_cache("delete", PROGRESS_KEY.format(job_id))


def run_job(job_id) -> Job | None:
    """Run the job's work once (the Celery task's body); return the job as it ends.

    Raises RetryLater, with the job back in the queue, when its work must wait.
    """
    job = _begin(job_id)
    if job is None:
        return Job.objects.filter(pk=job_id).first()
    handler = import_string(HANDLERS[job.kind])
    try:
        result = handler(job, progress_reporter(job.pk))
    except RetryLater as wait:
        if runs_inline():
            _finish(job.pk, JobState.FAILED, error=str(wait))
        else:
            Job.objects.filter(pk=job.pk).update(
                state=JobState.QUEUED, phase=str(wait)[:200], attempts=job.attempts - 1
            )
            raise
    except JobFailed as failure:
        _finish(job.pk, JobState.FAILED, result=failure.result, error=str(failure))
    except Exception as exc:
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        _finish(job.pk, JobState.FAILED, error=f"Unexpected error: {type(exc).__name__}: {exc}")
    else:
        _finish(job.pk, JobState.SUCCEEDED, result=result)
    return Job.objects.get(pk=job.pk)


def job_file(job: Job) -> Path:
    """Where the job's output file (an export) is kept; files past their age are removed."""
    folder = Path(settings.COHORT_JOB_FILES_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    oldest = time.time() - settings.COHORT_JOB_FILE_HOURS * 3600
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < oldest:
            old.unlink(missing_ok=True)
    return folder / f"{job.pk}.csv"


class NoJobFile(Exception):
    """The job has no file to download (not a finished export), or it has expired."""


def export_file(job: Job) -> tuple[Path, str]:
    """The finished export's file and the name to download it under; NoJobFile, with
    the reason, when there is none."""
    if job.kind != JobKind.SEGMENT_EXPORT or job.state != JobState.SUCCEEDED:
        raise NoJobFile("This job has no file to download.")
    path = job_file(job)
    if not path.exists():
        raise NoJobFile("The export file has expired; export again.")
    return path, job.result["filename"]


# Holding one of these, a person can start jobs, and so follow them.
JOB_STARTING_PERMISSIONS = (
    "segments.view_segment",
    *(f"{app}.{action}_{model}" for app, model in RECORD_MODELS for action in ("add", "change")),
)


def may_follow_jobs(user: User) -> bool:
    """Whether the jobs pages and API are for this person at all (else 403)."""
    if not user.is_authenticated:
        return False
    if user.has_perm("jobs.view_all_jobs"):
        return True
    return any(user.has_perm(permission) for permission in JOB_STARTING_PERMISSIONS)


def visible_jobs(user: User) -> QuerySet[Job]:
    """Jobs this person may follow: their own; a segment's syncs and exports when they
    may view segments (they could start the same; a second Sync joins the running one,
    and a scheduled sync or the sweep's is no one's); everyone's with "view all jobs"."""
    jobs = Job.objects.select_related("created_by", "segment")
    if user.has_perm("jobs.view_all_jobs"):
        return jobs
    followed = Q(created_by=user)
    if user.has_perm("segments.view_segment"):
        followed |= Q(segment__isnull=False)
    return jobs.filter(followed)


def active_job(segment, kind: JobKind, states=ACTIVE_STATES) -> Job | None:
    """The newest queued or running job of this kind on the segment (or in `states`), if any."""
    jobs = Job.objects.filter(segment=segment, kind=kind, state__in=states)
    return jobs.order_by("-created_at").first()
