"""Every background sync is a job, whichever way it starts — the Sync button, the API, the
schedule, a segment made live (or a live one given new criteria), the sweep of relative
dates — so the Jobs page and GET /api/crm/jobs list them all, titled after what started
them. A start joins a sync job of the segment already queued or running, except a sync
after a change of criteria, which never joins a running one: that may have read the old
criteria."""

import io
import time
from datetime import timedelta

import pytest

from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from contacts.models import Contact
from jobs.choices import JobKind, JobState
from jobs.models import Job
from segments import services
from segments.jobs import dispatch_due_syncs, request_sync, sweep
from segments.live import segments_to_sweep
from segments.models import Segment
from segments.sync import SegmentBusy
from segments.tasks import sweep_live_segments, sync_segment_task
from segments.tests.live_world import US, all_of, names, one
from testing.concurrency import errors_in, in_threads

RECENTLY_ACTIVE = all_of(one("last_activity_at", "in_last_days", 30))
BRITONS = all_of(one("country", "equals", "GB"))


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def americans(cast, manager):
    return services.create_segment(name="Americans", criteria=all_of(US), user=manager)


@pytest.fixture
def live_americans(cast, committed, manager):
    with committed(execute=True):
        return services.create_segment(
            name="Americans", criteria=all_of(US), user=manager, mode="live"
        )


@pytest.fixture
def recently_active(cast, committed):
    """Live, with a relative date: Ann (active 10 days ago) only."""
    with committed(execute=True):
        return services.create_segment(
            name="Recently active", criteria=RECENTLY_ACTIVE, user=None, mode="live"
        )


@pytest.fixture
def with_a_broker(settings):
    """Jobs are queued for a worker, not run; the test's transaction never commits, so
    nothing reaches a broker."""
    settings.CELERY_TASK_ALWAYS_EAGER = False


def sync_jobs(segment: Segment):
    return Job.objects.filter(segment=segment, kind=JobKind.SEGMENT_SYNC).order_by("created_at")


def active_sync(segment: Segment, state: JobState, user=None) -> Job:
    """A sync job of the segment as another process leaves it: queued, or running (and
    then, maybe, already past reading the criteria)."""
    return Job.objects.create(
        kind=JobKind.SEGMENT_SYNC,
        title=f"Sync of “{segment.name}”",
        state=state,
        params={"segment_id": segment.pk, "start": "by_hand"},
        created_by=user,
        segment=segment,
    )


def one_finished_job(segment: Segment) -> Job:
    (job,) = sync_jobs(segment)
    assert job.state == JobState.SUCCEEDED, job.error
    return job


# --- the five starts ---------------------------------------------------------------------------


def test_the_sync_button_is_a_job(browser_client, americans, admin_user):
    browser_client.post(f"/admin/crm-segments/{americans.pk}/sync")

    job = one_finished_job(americans)
    assert (job.title, job.created_by) == ("Sync of “Americans”", admin_user)
    assert job.result["members_after"] == 2


def test_the_api_sync_is_a_job(api, americans, admin_user):
    response = api.post(f"/api/crm/segments/{americans.pk}/sync")

    assert response.status_code == 202
    job = one_finished_job(americans)
    assert response.json()["id"] == str(job.pk)
    assert (job.title, job.created_by) == ("Sync of “Americans”", admin_user)


def test_a_scheduled_sync_is_a_job(americans):
    Segment.objects.filter(pk=americans.pk).update(
        sync_schedule="hourly", next_sync_at=timezone.now() - timedelta(minutes=1)
    )

    assert dispatch_due_syncs() == 1

    job = one_finished_job(americans)
    assert (job.title, job.created_by) == ("Scheduled sync of “Americans”", None)


def test_the_first_sync_of_a_new_live_segment_is_a_job(live_americans, manager):
    job = one_finished_job(live_americans)
    assert (job.title, job.created_by) == ("Sync of “Americans” (made live)", manager)
    assert job.result["added"] == 2
    assert names(live_americans) == {"Ann", "Dee"}


def test_making_a_segment_live_syncs_it_as_a_job(americans, committed, manager):
    with committed(execute=True):
        services.update_segment(americans, user=manager, mode="live")

    job = one_finished_job(americans)
    assert (job.title, job.created_by) == ("Sync of “Americans” (made live)", manager)
    assert names(americans) == {"Ann", "Dee"}


def test_new_criteria_of_a_live_segment_are_synced_as_a_job(live_americans, committed, manager):
    with committed(execute=True):
        services.update_segment(live_americans, user=manager, criteria=BRITONS)

    first, second = sync_jobs(live_americans)
    assert first.title == "Sync of “Americans” (made live)"
    assert (second.title, second.state) == ("Sync of “Americans” (new criteria)", "succeeded")
    assert names(live_americans) == {"Bob"}


def test_the_sweep_syncs_as_jobs(recently_active, committed):
    Contact.objects.filter(first_name="Ann").update(
        last_activity_at=timezone.now() - timedelta(days=40)
    )

    with committed(execute=True):
        result = sweep_live_segments.delay().get()

    assert result == {"synced": 1, "queued": 0, "busy": 0, "failed": 0}
    made_live, swept = sync_jobs(recently_active)
    assert made_live.title == "Sync of “Recently active” (made live)"
    assert (swept.title, swept.created_by, swept.state) == (
        "Sync of “Recently active” (relative dates moved on)",
        None,
        "succeeded",
    )
    assert swept.result["removed"] == 1
    assert names(recently_active) == set()


def test_every_start_is_listed_on_the_jobs_page_and_in_the_api(
    cast, committed, api, browser_client, manager
):
    # given one segment per start
    def make(name, **kwargs):
        return services.create_segment(name=name, criteria=all_of(US), user=manager, **kwargs)

    by_button, by_api, scheduled = (
        make("Button"),
        make("API"),
        make("Schedule", sync_schedule="daily"),
    )
    Segment.objects.filter(pk=scheduled.pk).update(next_sync_at=timezone.now())
    # when each starts its sync
    browser_client.post(f"/admin/crm-segments/{by_button.pk}/sync")
    api.post(f"/api/crm/segments/{by_api.pk}/sync")
    dispatch_due_syncs()
    with committed(execute=True):
        make("Live", mode="live")
    with committed(execute=True):
        swept = services.create_segment(
            name="Swept", criteria=RECENTLY_ACTIVE, user=manager, mode="live"
        )
    Job.objects.filter(segment=swept).delete()  # only the sweep's job, below
    assert sweep([swept])["synced"] == 1

    # then
    titles = {
        "Sync of “Button”",
        "Sync of “API”",
        "Scheduled sync of “Schedule”",
        "Sync of “Live” (made live)",
        "Sync of “Swept” (relative dates moved on)",
    }
    listed = api.get("/api/crm/jobs").json()["results"]
    assert {row["title"] for row in listed} == titles
    assert {row["kind"] for row in listed} == {"segment_sync"}
    page = browser_client.get("/admin/jobs").content.decode()
    for title in titles:
        assert title in page


# --- joining a sync job already queued or running ----------------------------------------------


@pytest.mark.parametrize("state", [JobState.QUEUED, JobState.RUNNING])
def test_a_sync_by_hand_or_by_schedule_joins_an_active_job(americans, admin_user, state):
    active = active_sync(americans, state, admin_user)

    assert request_sync(americans, admin_user) == active
    Segment.objects.filter(pk=americans.pk).update(
        sync_schedule="hourly", next_sync_at=timezone.now()
    )
    assert dispatch_due_syncs() == 1

    assert list(sync_jobs(americans)) == [active]


@pytest.mark.parametrize("state", [JobState.QUEUED, JobState.RUNNING])
def test_the_sweep_joins_an_active_job_and_counts_it_busy(recently_active, state):
    active = active_sync(recently_active, state)

    result = sweep(segments_to_sweep())

    assert result == {"synced": 0, "queued": 0, "busy": 1, "failed": 0}
    assert sync_jobs(recently_active).last() == active


def test_new_criteria_join_a_queued_job_which_reads_them_when_it_starts(
    live_americans, committed, manager
):
    queued = active_sync(live_americans, JobState.QUEUED)

    with committed(execute=True):
        services.update_segment(live_americans, user=manager, criteria=BRITONS)

    assert sync_jobs(live_americans).last() == queued
    queued.refresh_from_db()
    assert queued.state == JobState.QUEUED


def test_new_criteria_never_join_a_running_job_that_may_have_read_the_old_ones(
    live_americans, committed, manager
):
    # given a sync running since before the change: it may have read the old criteria
    running = active_sync(live_americans, JobState.RUNNING)

    # when the criteria change
    with committed(execute=True):
        services.update_segment(live_americans, user=manager, criteria=BRITONS)

    # then a sync of its own reads the new ones, and the running one is left alone
    latest = sync_jobs(live_americans).last()
    assert latest != running
    assert (latest.title, latest.state) == ("Sync of “Americans” (new criteria)", "succeeded")
    assert latest.params["start"] == "new_criteria"
    assert names(live_americans) == {"Bob"}
    running.refresh_from_db()
    assert running.state == JobState.RUNNING


def test_with_a_broker_new_criteria_queue_behind_a_running_job_once(
    live_americans, manager, with_a_broker
):
    running = active_sync(live_americans, JobState.RUNNING)

    states = [sync_segment_task(live_americans.pk, manager.pk, "new_criteria") for _ in "12"]

    assert states == ["queued", "queued"]  # the second joined the first
    (behind,) = sync_jobs(live_americans).filter(state=JobState.QUEUED)
    assert behind.title == "Sync of “Americans” (new criteria)"
    running.refresh_from_db()
    assert running.state == JobState.RUNNING


def test_with_a_broker_the_sync_task_run_twice_makes_one_job(
    live_americans, manager, with_a_broker
):
    Job.objects.all().delete()

    states = [sync_segment_task(live_americans.pk, manager.pk) for _ in "12"]

    assert states == ["queued", "queued"]
    (job,) = sync_jobs(live_americans)
    assert (job.title, job.created_by) == ("Sync of “Americans” (made live)", manager)


def test_the_sync_task_run_twice_inline_changes_nothing_the_second_time(live_americans, manager):
    assert sync_segment_task(live_americans.pk, manager.pk) == "succeeded"

    latest = sync_jobs(live_americans).last()
    assert (latest.result["added"], latest.result["removed"]) == (0, 0)
    assert names(live_americans) == {"Ann", "Dee"}


# --- the sweep's summary ------------------------------------------------------------------------


def test_with_a_broker_the_sweep_queues_and_says_so(recently_active, with_a_broker):
    result = sweep(segments_to_sweep())

    assert result == {"synced": 0, "queued": 1, "busy": 0, "failed": 0}
    swept = sync_jobs(recently_active).last()
    assert (swept.state, swept.title) == (
        "queued",
        "Sync of “Recently active” (relative dates moved on)",
    )


def test_the_command_says_what_it_queued(recently_active, with_a_broker, settings):
    overdue = timezone.now() - timedelta(minutes=settings.COHORT_LIVE_SWEEP_MINUTES + 1)
    Segment.objects.filter(pk=recently_active.pk).update(last_synced_at=overdue)
    out = io.StringIO()

    call_command("run_scheduled_syncs", stdout=out)

    assert out.getvalue().splitlines()[1] == (
        "Live segments with relative dates: 0 re-synced, 1 queued for a worker, "
        "0 already syncing, 0 failed."
    )


def test_a_failed_sweep_sync_is_a_failed_job_and_counted(recently_active, monkeypatch):
    def failing(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("segments.sync._replace_membership", failing)

    result = sweep(segments_to_sweep())

    assert result == {"synced": 0, "queued": 0, "busy": 0, "failed": 1}
    swept = sync_jobs(recently_active).last()
    assert swept.state == JobState.FAILED
    assert "boom" in swept.error
    assert names(recently_active) == {"Ann"}


# --- a real race: new criteria while a sync by hand runs (PostgreSQL) ----------------------------


@pytest.fixture
def slow_finish(monkeypatch):
    """A finished sync's job is marked so only a moment later: the window in which it is
    still "running" though its sync, with the criteria it read, is already committed."""
    from jobs import services as job_services

    finish = job_services._finish

    def slowly(*args, **kwargs):
        time.sleep(0.5)
        return finish(*args, **kwargs)

    monkeypatch.setattr(job_services, "_finish", slowly)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_new_criteria_during_a_running_sync_end_in_the_new_membership(
    cast, manager, slow_sync, slow_finish
):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's test database admits one writer at a time: nothing to race")
    segment = services.create_segment(
        name="Americans", criteria=all_of(US), user=manager, mode="live"
    )
    assert names(segment) == {"Ann", "Dee"}

    def change_criteria():
        time.sleep(0.2)  # the sync by hand has read the old criteria by now
        return services.update_segment(
            Segment.objects.get(pk=segment.pk), user=manager, criteria=BRITONS
        )

    # The edit is refused while the sync holds the segment (SegmentBusy) and asked again.
    results = in_threads(
        lambda: request_sync(Segment.objects.get(pk=segment.pk), manager),
        change_criteria,
        also=(SegmentBusy,),
    )

    assert errors_in(results) == [], results
    by_hand, _ = results
    assert by_hand.title == "Sync of “Americans”"
    assert by_hand.result["members_after"] == 2  # it synced the old criteria
    latest = sync_jobs(segment).last()
    assert (latest.title, latest.state) == ("Sync of “Americans” (new criteria)", "succeeded")
    assert names(segment) == {"Bob"}
