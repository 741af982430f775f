"""Jobs in a real Celery worker process, on PostgreSQL and Redis (testing.worker).

The API answers at once with a queued job; the worker runs it; the membership, tags
and file it leaves are those of the inline path. A worker killed in the middle of a
sync leaves the previous membership, and the redelivered task finishes the sync.
"""

import os
import signal

import psycopg
import pytest

from django.db import connection

from contacts.models import Contact
from jobs import services as job_services
from jobs.choices import JobState
from jobs.models import Job
from segments.criteria import compile_criteria, context
from segments.export import csv_chunks
from segments.jobs import request_sync
from segments.models import Segment, SegmentMember
from tags.models import ContactTag
from testing.worker import start_worker, stop_worker, wait_for

# The worker reads what the test commits; serialized_rollback: the flush after a
# transactional test must not lose the seeded roles.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _finished(job_id) -> Job | None:
    job = Job.objects.get(pk=job_id)
    return job if job.state in (JobState.SUCCEEDED, JobState.FAILED) else None


def _members(segment: Segment) -> set[int]:
    return set(SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True))


def _matching(segment: Segment) -> set[int]:
    return set(
        Contact.objects.filter(compile_criteria(segment.criteria, context())).values_list(
            "pk", flat=True
        )
    )


def test_sync_answers_at_once_and_the_worker_replaces_the_membership(
    celery_worker_process, api, americans
):
    response = api.post(f"/api/crm/segments/{americans.pk}/sync")

    assert response.status_code == 202
    assert response.json()["state"] == "queued"
    job = wait_for(lambda: _finished(response.json()["id"]), "the sync job")
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.worker.split(":")[-1] != str(os.getpid())  # another process ran it
    assert api.get(response["Location"]).json()["result"]["members_after"] == 3
    assert (
        _members(americans)
        == _matching(americans)
        == {c.pk for c in Contact.objects.filter(country="US")}
    )


def test_bulk_tagging_job_runs_in_the_worker(celery_worker_process, api, people, vip, settings):
    settings.COHORT_BULK_TAG_JOB_ABOVE = 2
    body = {"filter": {"country": "US"}, "add": [vip.pk]}

    response = api.post("/api/crm/contacts/bulk-tags", body, format="json")

    assert (response.status_code, response.json()["state"]) == (202, "queued")
    job = wait_for(lambda: _finished(response.json()["id"]), "the bulk tagging job")
    assert job.result == {
        "record_type": "contacts",
        "matched": 3,
        "skipped": 0,  # records the user may not change (core.ownership)
        "added": 1,
        "removed": 0,
    }
    tagged = ContactTag.objects.filter(tag=vip).values_list("record__first_name", flat=True)
    assert sorted(tagged) == ["Ann", "Bo", "Cy"]
    vip.refresh_from_db()
    assert vip.contacts_count == 3


def test_export_job_writes_the_file_in_the_worker(celery_worker_process, api, americans):
    api.post(f"/api/crm/segments/{americans.pk}/sync")
    wait_for(lambda: Job.objects.filter(state=JobState.SUCCEEDED).exists(), "the sync")
    americans.refresh_from_db()

    response = api.post(f"/api/crm/segments/{americans.pk}/export")

    job = wait_for(lambda: _finished(response.json()["id"]), "the export job")
    assert job.state == JobState.SUCCEEDED, job.error
    download = api.get(api.get(response["Location"]).json()["download_url"])
    assert b"".join(download.streaming_content).decode() == "".join(csv_chunks(americans))


def _blocking_members() -> psycopg.Connection:
    """A connection whose lock stops the next sync in the middle of its transaction, at
    its DELETE of leavers, until the connection is closed."""
    db = connection.settings_dict
    blocker = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        user=db["USER"] or "postgres",
        dbname=db["NAME"],
    )
    blocker.execute("LOCK TABLE segments_segmentmember IN SHARE MODE")
    return blocker


def _sync_waiting_for_members() -> bool:
    """Whether a sync waits, mid-transaction, for a write on the member table."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%%DELETE FROM segments_segmentmember%%'"
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_mid_sync_leaves_the_membership_and_the_retry_finishes(
    celery_worker_process, americans, admin_user, people
):
    # given: a synced segment, then a change that the next sync will apply
    request_sync(americans, admin_user)
    wait_for(lambda: Job.objects.filter(state=JobState.SUCCEEDED).exists(), "the first sync")
    before = _members(americans)
    Contact.objects.filter(pk=people["Di"].pk).update(country="US")
    blocker = _blocking_members()
    try:
        # when: the worker's process dies while the sync waits there
        job = request_sync(americans, admin_user)
        wait_for(_sync_waiting_for_members, "the sync to reach its DELETE")
        job.refresh_from_db()
        assert (job.state, job.attempts) == (JobState.RUNNING, 1)
        os.kill(int(job.worker.rsplit(":", 1)[1]), signal.SIGKILL)

        # then: nothing of the killed run is visible...
        assert _members(americans) == before
    finally:
        blocker.close()  # rolls back: the lock goes
    # ...and the redelivered task finishes the sync.
    job = wait_for(lambda: _finished(job.pk), "the retried sync")
    assert (job.state, job.attempts) == (JobState.SUCCEEDED, 2), job.error
    assert _members(americans) == before | {people["Di"].pk} == _matching(americans)
    americans.refresh_from_db()
    assert americans.member_count == 4
    assert americans.runs.filter(outcome="succeeded").count() == 2


def test_a_whole_worker_killed_mid_sync_is_reaped_and_a_new_sync_completes(
    celery_worker_process, americans, admin_user, people, settings, tmp_path
):
    # given: a sync stuck mid-transaction in the worker, whose heartbeat thread still beats
    settings.COHORT_JOB_LOST_AFTER_SECONDS = 3
    Contact.objects.filter(pk=people["Di"].pk).update(country="US")
    blocker = _blocking_members()
    try:
        job = request_sync(americans, admin_user)
        wait_for(_sync_waiting_for_members, "the sync to reach its DELETE")
        first_beat = Job.objects.get(pk=job.pk).heartbeat_at
        wait_for(
            lambda: Job.objects.get(pk=job.pk).heartbeat_at > first_beat,
            "a heartbeat during the sync",
        )

        # when: the whole worker (main process and pool) is killed, as the OOM killer would
        os.killpg(celery_worker_process.process.pid, signal.SIGKILL)
        celery_worker_process.process.wait(timeout=15)
    finally:
        blocker.close()
    job.refresh_from_db()
    assert job.state == JobState.RUNNING  # what it says until someone notices
    assert job_services.reap_lost_jobs() == {"lost": 0, "requeued": 0}  # heartbeat still fresh

    # then: once its heartbeat is stale, the reaper marks it lost and queues it again...
    reaped = wait_for(lambda: job_services.reap_lost_jobs()["lost"], "the job to be lost", 15)
    assert reaped == 1
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error.startswith("The worker running this job stopped")
    # ...a new Sync joins the new job, not the lost one, and a new worker completes it
    again = request_sync(americans, admin_user)
    assert again.pk != job.pk
    assert str(again.pk) == job.result["requeued_as"]
    worker = start_worker(tmp_path, tmp_path / "job-files", queue=celery_worker_process.queue)
    try:
        again = wait_for(lambda: _finished(again.pk), "the sync queued again")
    finally:
        stop_worker(worker)
    assert again.state == JobState.SUCCEEDED, again.error
    assert _members(americans) == _matching(americans)
    assert people["Di"].pk in _members(americans)
