"""Scheduled sync of manual segments: intervals and staleness (segments.schedule), the
dispatcher celery beat runs every minute (segments.jobs), its command, the form, the API
and the pages."""

import io
from datetime import UTC, datetime, timedelta

import pytest

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from jobs.choices import JobKind
from jobs.models import Job
from segments import services
from segments.choices import SegmentMode, SyncSchedule
from segments.jobs import dispatch_due_syncs, request_sync
from segments.models import LIVE_SCHEDULE_MESSAGE, Segment, SegmentMember, SyncRun
from segments.schedule import STALE_GRACE, interval_of, is_stale, next_run, set_schedule
from segments.sync import sync_segment
from testing.concurrency import errors_in, in_threads

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
US = {"match": "all", "conditions": [{"field": "country", "operator": "equals", "value": "US"}]}
API = "/api/crm/segments"


def members_of(segment: Segment) -> set[int]:
    return set(SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True))


def due(segment: Segment, at: datetime) -> Segment:
    """Make the segment's next scheduled run `at` (as if its interval had passed)."""
    Segment.objects.filter(pk=segment.pk).update(next_sync_at=at)
    segment.refresh_from_db()
    return segment


def sync_jobs(segment: Segment) -> int:
    return Job.objects.filter(segment=segment, kind=JobKind.SEGMENT_SYNC).count()


# --- intervals and staleness ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "interval"),
    [
        ("off", None),
        ("every_15_minutes", timedelta(minutes=15)),
        ("hourly", timedelta(hours=1)),
        ("daily", timedelta(days=1)),
    ],
)
def test_interval_of_each_schedule(schedule, interval):
    assert interval_of(schedule) == interval
    assert SyncSchedule(schedule).interval == interval


@pytest.mark.parametrize(
    ("schedule", "synced_ago", "stale"),
    [
        ("hourly", timedelta(minutes=5), False),
        ("hourly", timedelta(hours=1), False),
        ("hourly", timedelta(hours=1) + STALE_GRACE, False),  # the grace's last moment
        ("hourly", timedelta(hours=1) + STALE_GRACE + timedelta(seconds=1), True),
        ("every_15_minutes", timedelta(minutes=17), False),
        ("every_15_minutes", timedelta(minutes=17, seconds=1), True),
        ("daily", timedelta(hours=23), False),
        ("daily", timedelta(days=1, minutes=3), True),
        ("hourly", None, True),  # scheduled, never synced
        ("off", timedelta(days=400), False),  # without a schedule nothing is overdue
        ("off", None, False),
    ],
)
def test_is_stale_boundaries(schedule, synced_ago, stale):
    segment = Segment(
        name="S",
        sync_schedule=schedule,
        last_synced_at=None if synced_ago is None else NOW - synced_ago,
    )

    assert is_stale(segment, NOW) is stale


def test_a_live_segment_is_never_stale():
    segment = Segment(name="S", mode=SegmentMode.LIVE, sync_schedule="hourly")

    assert not is_stale(segment, NOW)
    assert next_run(segment) is None


@pytest.mark.parametrize(
    ("schedule", "next_at"),
    [
        ("off", None),
        ("every_15_minutes", NOW + timedelta(minutes=15)),
        ("daily", NOW + timedelta(days=1)),
    ],
)
def test_set_schedule_puts_the_first_run_one_interval_ahead(schedule, next_at):
    segment = Segment(name="S", sync_schedule="hourly", next_sync_at=NOW)

    fields = set_schedule(segment, schedule, now=NOW)

    assert fields == ["sync_schedule", "next_sync_at"]
    assert segment.sync_schedule == schedule
    assert segment.next_sync_at == next_at
    assert next_run(segment) == next_at


# --- the services -----------------------------------------------------------------------------


def test_creating_with_a_schedule_sets_its_next_run(db, manager):
    before = timezone.now()

    segment = services.create_segment(name="S", user=manager, sync_schedule="hourly")

    segment.refresh_from_db()
    assert segment.sync_schedule == "hourly"
    assert (
        before + timedelta(hours=1) <= segment.next_sync_at <= timezone.now() + timedelta(hours=1)
    )


def test_changing_the_schedule_moves_the_next_run_and_keeping_it_does_not(db, manager):
    segment = services.create_segment(name="S", user=manager, sync_schedule="daily")
    due(segment, NOW)

    services.update_segment(segment, user=manager, sync_schedule="daily", description="same")
    segment.refresh_from_db()
    assert segment.next_sync_at == NOW

    services.update_segment(segment, user=manager, sync_schedule="every_15_minutes")
    segment.refresh_from_db()
    assert timezone.now() < segment.next_sync_at <= timezone.now() + timedelta(minutes=15)

    services.update_segment(segment, user=manager, sync_schedule="off")
    segment.refresh_from_db()
    assert (segment.sync_schedule, segment.next_sync_at) == ("off", None)


@pytest.mark.parametrize(
    "change",
    [
        {"mode": "live", "sync_schedule": "hourly"},
        {"mode": "live"},  # the saved schedule is hourly
    ],
)
def test_a_live_segment_refuses_a_schedule(db, manager, change):
    segment = services.create_segment(name="S", user=manager, sync_schedule="hourly")

    with pytest.raises(ValidationError) as refused:
        services.update_segment(segment, user=manager, **change)

    assert refused.value.message_dict == {"sync_schedule": [LIVE_SCHEDULE_MESSAGE]}
    segment.refresh_from_db()
    assert (segment.mode, segment.sync_schedule) == ("manual", "hourly")


def test_going_live_with_the_schedule_off_at_once_is_allowed(db, manager):
    segment = services.create_segment(name="S", user=manager, sync_schedule="hourly")

    services.update_segment(segment, user=manager, mode="live", sync_schedule="off")

    segment.refresh_from_db()
    assert (segment.mode, segment.sync_schedule, segment.next_sync_at) == ("live", "off", None)


def test_the_database_refuses_a_live_segment_with_a_schedule(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Segment.objects.create(name="S", mode="live", sync_schedule="hourly")


# --- the dispatcher ---------------------------------------------------------------------------


@pytest.fixture
def scheduled(cast, manager):
    """Segments of every kind over the cast; "due" and "due too" are the ones due now."""
    now = timezone.now()
    made = {
        "due": services.create_segment(
            name="Due", criteria=US, user=manager, sync_schedule="hourly"
        ),
        "due too": services.create_segment(
            name="Due too", criteria=US, user=manager, sync_schedule="every_15_minutes"
        ),
        "later": services.create_segment(
            name="Later", criteria=US, user=manager, sync_schedule="daily"
        ),
        "off": services.create_segment(name="Off", criteria=US, user=manager),
        "live": services.create_segment(name="Live", criteria=US, user=manager, mode="live"),
    }
    due(made["due"], now - timedelta(minutes=3))
    due(made["due too"], now)
    due(made["off"], now - timedelta(days=1))  # a stray value: the schedule is off
    due(made["live"], now - timedelta(days=1))
    return made


def test_dispatch_starts_exactly_the_due_segments(scheduled):
    now = timezone.now()

    started = dispatch_due_syncs(now)

    assert started == 2
    for name, segment in scheduled.items():
        segment.refresh_from_db()
        expected = 1 if name in {"due", "due too"} else 0
        assert sync_jobs(segment) == expected, name
        if name != "live":  # a live segment is synced once on creation, by its own task
            assert SyncRun.objects.filter(segment=segment).count() == expected, name
    for name in ("due", "due too"):
        segment = scheduled[name]
        assert segment.last_synced_at is not None
        assert segment.next_sync_at >= now + interval_of(segment.sync_schedule)
        assert not is_stale(segment, timezone.now())
    assert scheduled["later"].next_sync_at > now + timedelta(hours=23)
    titles = Job.objects.filter(created_by=None).values_list("title", flat=True)
    assert sorted(titles) == ["Scheduled sync of “Due too”", "Scheduled sync of “Due”"]


def test_a_second_dispatch_right_after_starts_nothing(scheduled):
    now = timezone.now()
    assert dispatch_due_syncs(now) == 2

    assert dispatch_due_syncs(now) == 0
    assert dispatch_due_syncs(now + timedelta(minutes=1)) == 0
    assert sync_jobs(scheduled["due"]) == 1


def test_the_dispatcher_moves_the_next_run_even_if_the_sync_cannot_start(scheduled, monkeypatch):
    """Advanced in the dispatcher's own transaction, before any sync is asked for."""
    now = timezone.now()

    def broken(segment, user):
        raise RuntimeError("no queue")

    monkeypatch.setattr("segments.jobs.request_sync", broken)

    assert dispatch_due_syncs(now) == 0
    scheduled["due"].refresh_from_db()
    assert scheduled["due"].next_sync_at == now + timedelta(hours=1)
    assert dispatch_due_syncs(now) == 0


def test_live_and_unscheduled_segments_are_never_dispatched(cast, manager):
    live = services.create_segment(name="Live", criteria=US, user=manager, mode="live")
    off = services.create_segment(name="Off", criteria=US, user=manager)
    due(live, NOW)
    due(off, NOW)

    assert dispatch_due_syncs(timezone.now() + timedelta(days=2)) == 0
    assert sync_jobs(live) == sync_jobs(off) == 0


@pytest.mark.parametrize("by", ["sync_segment", "request_sync"])
def test_a_sync_by_hand_pushes_the_next_run(cast, manager, by):
    segment = services.create_segment(name="S", criteria=US, user=manager, sync_schedule="hourly")
    due(segment, NOW)

    if by == "sync_segment":
        sync_segment(segment, manager)
    else:
        request_sync(segment, manager)  # the Sync button and the API's sync

    segment.refresh_from_db()
    assert segment.next_sync_at == segment.last_synced_at + timedelta(hours=1)
    assert dispatch_due_syncs() == 0


def test_a_failed_sync_leaves_the_next_run(cast, manager, monkeypatch):
    segment = services.create_segment(name="S", criteria=US, user=manager, sync_schedule="hourly")
    due(segment, NOW)

    def failing(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("segments.sync._replace_membership", failing)
    run = sync_segment(segment, manager)

    assert run.outcome == "failed"
    segment.refresh_from_db()
    assert segment.next_sync_at == NOW


def test_an_unscheduled_sync_leaves_no_next_run(cast, manager):
    segment = services.create_segment(name="S", criteria=US, user=manager)

    sync_segment(segment, manager)

    segment.refresh_from_db()
    assert segment.next_sync_at is None


def test_a_scheduled_sync_makes_the_membership_a_manual_sync_makes(cast, manager):
    scheduled = services.create_segment(name="A", criteria=US, user=manager, sync_schedule="hourly")
    by_hand = services.create_segment(name="B", criteria=US, user=manager)
    due(scheduled, NOW)

    assert dispatch_due_syncs() == 1
    sync_segment(by_hand, manager)

    scheduled.refresh_from_db()
    by_hand.refresh_from_db()
    assert members_of(scheduled) == members_of(by_hand) == {cast["Ann"].pk, cast["Dee"].pk}
    assert scheduled.member_count == by_hand.member_count == 2
    run = SyncRun.objects.get(segment=scheduled)
    assert (run.outcome, run.triggered_by, run.added) == ("succeeded", None, 2)


# --- celery beat and the command --------------------------------------------------------------


def test_the_beat_entry_names_a_registered_task():
    from cohort.celery import app

    app.loader.import_default_modules()  # what a worker does: autodiscovery
    entries = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "segments.dispatch_scheduled_syncs"
    ]

    assert len(entries) == 1
    assert entries[0]["schedule"] == timedelta(seconds=60)
    assert "segments.dispatch_scheduled_syncs" in app.tasks
    assert app.tasks["segments.dispatch_scheduled_syncs"].acks_late


def test_the_task_dispatches(scheduled):
    from segments.tasks import dispatch_scheduled_syncs

    assert dispatch_scheduled_syncs.apply().get() == 2
    assert dispatch_scheduled_syncs.apply().get() == 0


def test_the_command_says_how_many_syncs_it_started(scheduled):
    out = io.StringIO()
    call_command("run_scheduled_syncs", stdout=out)
    assert out.getvalue() == "Started 2 scheduled syncs.\n"

    due(scheduled["later"], NOW)
    out = io.StringIO()
    call_command("run_scheduled_syncs", stdout=out)
    assert out.getvalue() == "Started 1 scheduled sync.\n"
    assert sync_jobs(scheduled["later"]) == 1


# --- the form ---------------------------------------------------------------------------------


def form_data(**fields) -> dict:
    return {"name": "Americans", "description": "", "criteria": "", "mode": "manual", **fields}


def test_new_segment_form_offers_the_schedule(browser_client):
    page = browser_client.get(reverse("segment_add")).content.decode()

    assert "Scheduled sync" in page
    for value, label in SyncSchedule.choices:
        assert f'value="{value}"' in page
        assert str(label) in page
    assert "Runs Sync on its own. Needs the Celery beat process; see the README." in page


def test_the_form_saves_a_schedule_with_its_next_run(browser_client):
    response = browser_client.post(reverse("segment_add"), form_data(sync_schedule="hourly"))

    assert response.status_code == 302
    segment = Segment.objects.get(name="Americans")
    assert segment.sync_schedule == "hourly"
    assert segment.next_sync_at > timezone.now() + timedelta(minutes=59)


def test_the_form_refuses_a_schedule_for_a_live_segment(browser_client):
    response = browser_client.post(
        reverse("segment_add"), form_data(mode="live", sync_schedule="hourly")
    )

    assert response.status_code == 400
    assert LIVE_SCHEDULE_MESSAGE in response.content.decode()
    assert not Segment.objects.exists()


def test_the_edit_form_refuses_making_a_scheduled_segment_live(browser_client, admin_user):
    segment = services.create_segment(name="Americans", user=admin_user, sync_schedule="daily")

    response = browser_client.post(
        reverse("segment_edit", args=[segment.pk]), form_data(mode="live", sync_schedule="daily")
    )

    assert response.status_code == 400
    assert LIVE_SCHEDULE_MESSAGE in response.content.decode()
    segment.refresh_from_db()
    assert segment.mode == "manual"


def test_the_form_refuses_an_unknown_schedule_with_the_choices(browser_client):
    response = browser_client.post(reverse("segment_add"), form_data(sync_schedule="weekly"))

    assert response.status_code == 400
    assert (
        "Choose Off, Every 15 minutes, Hourly or Daily, not “weekly”." in response.content.decode()
    )


# --- the API ----------------------------------------------------------------------------------


def test_api_sets_and_shows_the_schedule(api, db):
    created = api.post(API, {"name": "S", "criteria": US, "sync_schedule": "hourly"}, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert body["sync_schedule"] == "hourly"
    assert body["next_sync_at"] is not None
    assert body["is_stale"] is True  # scheduled, never synced

    changed = api.patch(
        f"{API}/{body['id']}", {"sync_schedule": "off", "next_sync_at": None}, format="json"
    )
    assert changed.status_code == 200
    assert changed.json()["sync_schedule"] == "off"
    assert changed.json()["next_sync_at"] is None
    assert changed.json()["is_stale"] is False


def test_api_next_sync_at_is_read_only(api, db, admin_user):
    segment = services.create_segment(name="S", user=admin_user, sync_schedule="daily")
    due(segment, NOW)

    response = api.patch(
        f"{API}/{segment.pk}", {"next_sync_at": "2030-01-01T00:00:00Z"}, format="json"
    )

    assert response.status_code == 200
    segment.refresh_from_db()
    assert segment.next_sync_at == NOW


@pytest.mark.parametrize("method", ["post", "patch"])
def test_api_refuses_a_schedule_for_a_live_segment(api, db, admin_user, method):
    if method == "post":
        response = api.post(
            API, {"name": "S", "mode": "live", "sync_schedule": "hourly"}, format="json"
        )
    else:
        segment = services.create_segment(name="S", user=admin_user, sync_schedule="hourly")
        response = api.patch(f"{API}/{segment.pk}", {"mode": "live"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"sync_schedule": [LIVE_SCHEDULE_MESSAGE]}


def test_api_refuses_an_unknown_schedule_with_the_choices(api, db):
    response = api.post(API, {"name": "S", "sync_schedule": "weekly"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "sync_schedule": [
            "Choose one of “off”, “every_15_minutes”, “hourly”, “daily”, not “weekly”."
        ]
    }


def test_api_schema_lists_the_schedules(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]
    segment = components["Segment"]["properties"]

    enum = components[segment["sync_schedule"]["allOf"][0]["$ref"].rsplit("/", 1)[1]]["enum"]
    assert enum == SyncSchedule.values
    assert segment["next_sync_at"]["readOnly"] is True
    assert segment["is_stale"] == {**segment["is_stale"], "type": "boolean", "readOnly": True}


# --- the pages --------------------------------------------------------------------------------


def test_segment_page_shows_schedule_next_run_and_stale_badge(browser_client, cast, admin_user):
    segment = services.create_segment(
        name="S", criteria=US, user=admin_user, sync_schedule="hourly"
    )
    sync_segment(segment, admin_user)
    long_ago = timezone.now() - timedelta(hours=3)
    Segment.objects.filter(pk=segment.pk).update(
        last_synced_at=long_ago, next_sync_at=timezone.now() + timedelta(minutes=12, seconds=30)
    )

    page = browser_client.get(reverse("segment_detail", args=[segment.pk])).content.decode()

    assert "<dt>Scheduled sync</dt>" in page
    assert "Hourly · next run" in page
    assert "(in 12\xa0minutes)" in page
    assert 'class="badge sync-stale"' in page


def test_segment_page_of_a_fresh_scheduled_segment_has_no_badge(browser_client, cast, admin_user):
    segment = services.create_segment(name="S", criteria=US, user=admin_user, sync_schedule="daily")
    sync_segment(segment, admin_user)

    page = browser_client.get(reverse("segment_detail", args=[segment.pk])).content.decode()

    assert "Daily · next run" in page
    assert "sync-stale" not in page


def test_segment_page_says_when_a_run_is_overdue(browser_client, admin_user):
    segment = services.create_segment(name="S", user=admin_user, sync_schedule="every_15_minutes")
    due(segment, timezone.now() - timedelta(minutes=5))

    page = browser_client.get(reverse("segment_detail", args=[segment.pk])).content.decode()

    assert "(due now)" in page
    assert 'class="badge sync-stale"' in page  # never synced


def test_segment_page_of_unscheduled_and_live_segments(browser_client, admin_user):
    manual = services.create_segment(name="Manual", user=admin_user)
    live = services.create_segment(name="Live", user=admin_user, mode="live")

    manual_page = browser_client.get(reverse("segment_detail", args=[manual.pk])).content.decode()
    live_page = browser_client.get(reverse("segment_detail", args=[live.pk])).content.decode()

    assert '<dt>Scheduled sync</dt><dd class="sync-schedule">Off</dd>' in manual_page
    assert "Scheduled sync" not in live_page
    assert "sync-stale" not in manual_page + live_page


def test_list_marks_stale_segments(browser_client, admin_user):
    services.create_segment(name="Stale one", user=admin_user, sync_schedule="hourly")
    services.create_segment(name="Unscheduled", user=admin_user)

    page = browser_client.get(reverse("segment_list")).content.decode()

    assert page.count('class="badge sync-stale"') == 1
    row = page[page.index("Stale one") :]
    assert row.index("sync-stale") < row.index("Unscheduled")


# --- two dispatchers at once ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_dispatchers_at_once_start_each_due_segment_once(cast, manager):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's test database admits one writer at a time: nothing to race")
    segments = [
        services.create_segment(name=f"S{n}", criteria=US, user=manager, sync_schedule="hourly")
        for n in range(6)
    ]
    now = timezone.now()
    for segment in segments:
        due(segment, now - timedelta(minutes=1))

    results = in_threads(lambda: dispatch_due_syncs(now), lambda: dispatch_due_syncs(now))

    assert errors_in(results) == [], results
    assert sum(results) == len(segments)
    for segment in segments:
        assert sync_jobs(segment) == 1, segment.name
        assert SyncRun.objects.filter(segment=segment).count() == 1, segment.name
        segment.refresh_from_db()
        assert segment.next_sync_at >= now + timedelta(hours=1)
