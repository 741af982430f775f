"""Jobs whose whole worker died: found by their silent heartbeat, failed with the reason,
syncs and exports queued again, never joined by a new Sync (#15 M2).

The fault test with a real worker process killed mid-sync is in test_worker.py.
"""

import io
import os
import socket
from datetime import timedelta

from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from cohort.celery import app as celery_app
from jobs import services
from jobs.choices import JobKind, JobState
from jobs.models import Job
from segments.jobs import request_sync
from segments.models import SegmentMember

LONG_AGO = timedelta(minutes=10)
GONE = "a-host-that-stopped:4242"


def running(americans, user, *, kind=JobKind.SEGMENT_SYNC, silent_for=LONG_AGO, worker=GONE):
    """A job that a worker began and last reported on `silent_for` ago."""
    then = timezone.now() - silent_for
    return Job.objects.create(
        kind=kind,
        title=f"{kind} of “Americans”",
        params={"segment_id": americans.pk},
        created_by=user,
        segment=americans,
        state=JobState.RUNNING,
        phase="Adding contacts that match",
        progress=45,
        attempts=1,
        started_at=then,
        heartbeat_at=then,
        worker=worker,
    )


def test_a_silent_sync_is_lost_and_queued_again(americans, admin_user, people):
    lost = running(americans, admin_user)

    assert services.reap_lost_jobs() == {"lost": 1, "requeued": 1}

    lost.refresh_from_db()
    assert lost.state == JobState.FAILED
    assert lost.error.startswith("The worker running this job stopped")
    assert "queued again" in lost.error
    again = Job.objects.get(pk=lost.result["requeued_as"])
    # without a broker the new job has run already: the membership is right
    assert (again.kind, again.title, again.state) == (lost.kind, lost.title, JobState.SUCCEEDED)
    assert again.attempts == 2  # counts on from the lost one
    assert SegmentMember.objects.filter(segment=americans).count() == 3


def test_a_lost_export_is_queued_again_too(americans, admin_user, people):
    lost = running(americans, admin_user, kind=JobKind.SEGMENT_EXPORT)
    services.reap_lost_jobs()
    lost.refresh_from_db()
    again = Job.objects.get(pk=lost.result["requeued_as"])
    assert (again.kind, again.state) == (JobKind.SEGMENT_EXPORT, JobState.SUCCEEDED)
    assert again.result["rows"] == 0  # not synced yet: no members


def test_a_lost_bulk_tagging_is_failed_not_repeated(americans, admin_user):
    lost = running(americans, admin_user, kind=JobKind.BULK_TAG)

    assert services.reap_lost_jobs() == {"lost": 1, "requeued": 0}

    lost.refresh_from_db()
    assert lost.state == JobState.FAILED
    assert lost.error.startswith("The worker running this job stopped")
    assert "start it again" in lost.error
    assert Job.objects.count() == 1


def test_a_job_that_keeps_killing_its_worker_is_not_queued_again(americans, admin_user):
    lost = running(americans, admin_user)
    Job.objects.filter(pk=lost.pk).update(attempts=services.MAX_ATTEMPTS)
    assert services.reap_lost_jobs() == {"lost": 1, "requeued": 0}


def test_a_job_with_a_recent_heartbeat_is_left_running(americans, admin_user):
    fresh = running(americans, admin_user, silent_for=timedelta(seconds=10))
    assert services.reap_lost_jobs() == {"lost": 0, "requeued": 0}
    fresh.refresh_from_db()
    assert fresh.state == JobState.RUNNING


def test_a_silent_job_whose_process_still_runs_here_is_left_running(americans, admin_user):
    # e.g. a long sync on SQLite, whose transaction keeps the heartbeat from being written
    alive = running(americans, admin_user, worker=f"{socket.gethostname()}:{os.getpid()}")
    assert services.reap_lost_jobs() == {"lost": 0, "requeued": 0}
    alive.refresh_from_db()
    assert alive.state == JobState.RUNNING


def test_the_lost_after_setting_decides(americans, admin_user, settings):
    job = running(americans, admin_user, silent_for=timedelta(seconds=30))
    settings.COHORT_JOB_LOST_AFTER_SECONDS = 20
    assert services.reap_lost_jobs()["lost"] == 1
    job.refresh_from_db()
    assert job.state == JobState.FAILED


def test_a_new_sync_of_a_segment_whose_job_is_lost_starts_afresh(americans, admin_user, people):
    lost = running(americans, admin_user)

    job = request_sync(americans, admin_user)

    assert job.pk != lost.pk
    assert job.state == JobState.SUCCEEDED
    lost.refresh_from_db()
    assert lost.state == JobState.FAILED
    assert lost.error.startswith("The worker running this job stopped")
    assert Job.objects.filter(state__in=[JobState.QUEUED, JobState.RUNNING]).count() == 0


def test_a_new_sync_joins_a_running_job_that_is_alive(americans, admin_user):
    alive = running(americans, admin_user, silent_for=timedelta(seconds=5))
    assert request_sync(americans, admin_user).pk == alive.pk


def test_run_scheduled_syncs_reaps_lost_jobs(americans, admin_user, people):
    lost = running(americans, admin_user)
    out = io.StringIO()
    call_command("run_scheduled_syncs", stdout=out)
    assert "Jobs whose process stopped: 1 marked lost, 1 queued again." in out.getvalue()
    lost.refresh_from_db()
    assert lost.state == JobState.FAILED


def test_celery_beat_runs_the_reaper_every_minute():
    [entry] = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "jobs.reap_lost_jobs"
    ]
    assert entry["schedule"] == timedelta(seconds=60)
    assert "jobs.reap_lost_jobs" in celery_app.tasks


def test_a_running_job_reports_a_heartbeat(americans, admin_user, people):
    job = services.start_job(
        JobKind.SEGMENT_SYNC,
        title="Sync",
        params={"segment_id": americans.pk},
        user=admin_user,
        segment=americans,
    )
    job.refresh_from_db()
    assert job.heartbeat_at is not None and job.heartbeat_at >= job.started_at
