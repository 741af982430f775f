"""jobs.services: one run per job however often its task arrives, progress, failures."""

import pytest

from django.core.cache import cache
from django.db import transaction

from core.queue import QueueUnavailable
from jobs import services
from jobs.choices import JobKind, JobState
from jobs.models import Job
from segments.jobs import request_sync
from segments.models import SegmentMember


def _queued(americans, admin_user) -> Job:
    return Job.objects.create(
        kind=JobKind.SEGMENT_SYNC,
        title="Sync",
        params={"segment_id": americans.pk},
        created_by=admin_user,
        segment=americans,
    )


def test_a_redelivered_task_of_a_finished_job_does_nothing(americans, admin_user):
    job = _queued(americans, admin_user)
    services.run_job(job.pk)
    finished = Job.objects.get(pk=job.pk)

    again = services.run_job(job.pk)

    assert (again.state, again.attempts, again.finished_at) == (
        JobState.SUCCEEDED,
        1,
        finished.finished_at,
    )
    assert americans.runs.count() == 1


def test_a_job_whose_worker_died_runs_again_and_counts_the_attempt(americans, admin_user):
    job = _queued(americans, admin_user)
    # What a worker killed mid-run leaves: running, one attempt, its work rolled back.
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, attempts=1)

    again = services.run_job(job.pk)

    assert (again.state, again.attempts, again.phase) == (JobState.SUCCEEDED, 2, "Done")
    assert SegmentMember.objects.filter(segment=americans).count() == 3


def test_a_job_that_keeps_killing_its_worker_is_given_up(americans, admin_user):
    job = _queued(americans, admin_user)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, attempts=services.MAX_ATTEMPTS)

    given_up = services.run_job(job.pk)

    assert given_up.state == JobState.FAILED
    assert given_up.error.startswith("Stopped after 3 attempts")
    assert not SegmentMember.objects.filter(segment=americans).exists()


def test_two_requests_for_a_sync_share_the_queued_job(americans, admin_user, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False  # queued, not run: as with a busy worker

    with transaction.atomic():
        first = request_sync(americans, admin_user)
        second = request_sync(americans, admin_user)
        transaction.set_rollback(True)  # nothing reaches a broker

    assert first.pk == second.pk
    assert first.state == JobState.QUEUED


def test_an_unreachable_broker_fails_the_job_saying_so(
    americans, admin_user, settings, monkeypatch
):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    def refused(*args, **kwargs):
        raise ConnectionRefusedError("Connection refused")

    monkeypatch.setattr("jobs.tasks.run_job_task.apply_async", refused)
    with transaction.atomic():
        job = request_sync(americans, admin_user)
    # The job was queued on commit, which the test's own transaction never reaches.
    with pytest.raises(QueueUnavailable):
        services._enqueue(job.pk)

    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error.startswith("The job queue could not be reached, so nothing was done")


def test_progress_reported_inside_a_transaction_is_seen_outside_it(americans, admin_user):
    job = _queued(americans, admin_user)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING)
    report = services.progress_reporter(job.pk)

    with transaction.atomic():
        report("Adding contacts that match", 45)

    seen = services.with_live_progress(Job.objects.get(pk=job.pk))
    assert (seen.phase, seen.progress) == ("Adding contacts that match", 45)
    cache.clear()


@pytest.mark.parametrize("percent, shown", [(-5, 0), (250, 100)])
def test_progress_stays_between_0_and_100(americans, admin_user, percent, shown):
    job = _queued(americans, admin_user)
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING)

    services.progress_reporter(job.pk)("Working", percent)

    assert services.with_live_progress(Job.objects.get(pk=job.pk)).progress == shown
