"""Starting, running and reading background jobs.

`start_job` records a job and hands it to Celery after commit; without a broker
(settings.CELERY_TASK_ALWAYS_EAGER) it runs at once, inline, through the same
`run_job`, so both paths give the same result. `run_job` is what the Celery task
calls: it is safe to run twice (a finished job is left alone; a job whose worker
died is run again, its work having rolled back with the worker's transaction).

Each kind's work is a plain function in its own app (HANDLERS), given the job and
a progress reporter, returning the result to keep; it raises JobFailed for an
outcome the user should read, RetryLater when it must wait for a lock.

A whole worker that dies (killed, out of memory, a lost node) cannot say so, and its
task comes back only after the broker's visibility timeout (an hour). So a running
job carries a heartbeat, written by its progress reports and, every
COHORT_JOB_HEARTBEAT_SECONDS, by a thread of the worker with a connection of its own
(the work's own transaction would hide it). `reap_lost_jobs` (celery beat, and the
run_scheduled_syncs command without beat) fails the running jobs silent for longer
than COHORT_JOB_LOST_AFTER_SECONDS and queues syncs and exports again (they are safe
to repeat); `active_job` never hands out such a job, so a new Sync starts afresh.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, connections, transaction
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
# Work that may simply run again when its worker died: a sync replaces the membership
# whole, an export rewrites its file.
REQUEUE_KINDS = frozenset({JobKind.SEGMENT_SYNC, JobKind.SEGMENT_EXPORT})
LOST = "The worker running this job stopped (restarted, out of memory or lost) before the end; "
LOST_REQUEUED = LOST + "nothing it did was kept, and the job was queued again."
LOST_GIVEN_UP = LOST + "check what was done, and start it again if needed."
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
            Job.objects.filter(pk=job_id).update(
                phase=phase[:200], progress=percent, heartbeat_at=timezone.now()
            )

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
        job.heartbeat_at = timezone.now()
        job.phase, job.progress = ("Starting", 0) if job.attempts == 1 else ("Starting again", 0)
        fields = ["state", "attempts", "started_at", "worker", "heartbeat_at", "phase", "progress"]
        job.save(update_fields=fields)
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
        with _heartbeat(job.pk):
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


@contextmanager
def _heartbeat(job_id) -> Iterator[None]:
    """While the block runs, a thread writes the job's heartbeat on a connection of its own.

    Not on SQLite: a long job's write transaction holds the database's only write lock, so
    the beat could not be written; there (one machine) a job whose process still runs
    is never taken for lost (_worker_alive).
    """
    if connection.vendor == "sqlite":
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.COHORT_JOB_HEARTBEAT_SECONDS):
                try:
                    Job.objects.filter(pk=job_id, state=JobState.RUNNING).update(
                        heartbeat_at=timezone.now()
                    )
                except DatabaseError:  # the next beat tries again; the reaper allows for gaps
                    logger.warning("Could not write the heartbeat of job %s", job_id)
        finally:
            connections.close_all()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"heartbeat-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def _worker_alive(worker: str) -> bool:
    """Whether the process named `worker` (host:pid) surely runs: on this host, alive and
    not a zombie. Another host's process cannot be checked from here."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def _lost_before(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(seconds=settings.COHORT_JOB_LOST_AFTER_SECONDS)


def _is_lost(job: Job, cutoff: datetime) -> bool:
    last_sign = job.heartbeat_at or job.started_at or job.created_at
    return job.state == JobState.RUNNING and last_sign < cutoff and not _worker_alive(job.worker)


def _reap(job_id, cutoff: datetime, *, requeue: bool) -> tuple[bool, Job | None]:
    """Fail the job if it is (still) lost, and queue its work again when `requeue` allows
    and its kind is safe to repeat; whether it was lost, and the new job if any."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or not _is_lost(job, cutoff):
            return False, None
        again = requeue and job.kind in REQUEUE_KINDS and job.attempts < MAX_ATTEMPTS
        replacement = None
        if again:
            replacement = create_job(
                JobKind(job.kind),
                title=job.title,
                params=job.params,
                user=job.created_by,
                segment=job.segment,
            )
            # A job that kills its worker every time is still given up after MAX_ATTEMPTS.
            Job.objects.filter(pk=replacement.pk).update(attempts=job.attempts)
        job.state, job.finished_at = JobState.FAILED, timezone.now()
        job.error = LOST_REQUEUED if again else LOST_GIVEN_UP
        if replacement is not None:
            job.result = {"requeued_as": str(replacement.pk)}
        job.save(update_fields=["state", "finished_at", "error", "result"])
    logger.warning("Job %s (%s) lost its worker %s", job.pk, job.kind, job.worker)
    _progress_cache("delete", PROGRESS_KEY.format(job.pk))
    return True, replacement


def reap_lost_jobs(now: datetime | None = None) -> dict:
    """Fail the running jobs whose worker stopped (heartbeat older than
    COHORT_JOB_LOST_AFTER_SECONDS) and queue syncs and exports again; how many were
    lost and requeued. Run by celery beat and run_scheduled_syncs; safe to run twice.
    Must be called outside any transaction."""
    cutoff = _lost_before(now)
    silent = Job.objects.filter(state=JobState.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    lost = requeued = 0
    for job_id in silent.values_list("pk", flat=True):
        was_lost, replacement = _reap(job_id, cutoff, requeue=True)
        lost += was_lost
        if replacement is not None:
            requeued += 1
            launch(replacement)
    return {"lost": lost, "requeued": requeued}


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
    """Jobs this person may follow: their own; a segment's syncs when they may view
    segments (they could start the same; a second Sync joins the running one, and a
    scheduled sync or the sweep's is no one's); everyone's with "view all jobs".

    Someone else's segment export is not followed: its file holds the columns its
    creator may see (contacts' details, tags), which need not be this person's (#15 M5).
    """
    jobs = Job.objects.select_related("created_by", "segment")
    if user.has_perm("jobs.view_all_jobs"):
        return jobs
    followed = Q(created_by=user)
    if user.has_perm("segments.view_segment"):
        followed |= Q(segment__isnull=False) & ~Q(kind=JobKind.SEGMENT_EXPORT)
    return jobs.filter(followed)


def active_job(segment, kind: JobKind, states=ACTIVE_STATES) -> Job | None:
    """The newest queued or running job of this kind on the segment (or in `states`), if any.

    A running job whose worker stopped is failed here instead (not queued again: the
    caller starts the work afresh), so no one joins a job that will never end."""
    jobs = Job.objects.filter(segment=segment, kind=kind, state__in=states)
    cutoff = _lost_before()
    while (job := jobs.order_by("-created_at").first()) is not None and _is_lost(job, cutoff):
        _reap(job.pk, cutoff, requeue=False)
        jobs = jobs.exclude(pk=job.pk)
    return job
