"""After a change: the ids of one transaction are gathered and scheduled once, after its
commit, in tasks of BATCH_SIZE ids; nothing at all while no segment is live. The tasks
run inline without a broker."""

import pytest

from django.db import transaction

from segments import notify, services
from segments.criteria import uses_relative_dates
from segments.tasks import (
    follow_sync_run_task,
    sync_segment_task,
    update_live_segments_task,
)
from segments.tests.live_world import US, all_of, make_live, names
from tags import services as tags
from tags.counters import recount_tags
from testing.worker import celery_conf


@pytest.fixture
def queued(monkeypatch):
    """The ids of every update task queued, in order, instead of running them."""
    calls: list[list[int]] = []

    def apply_async(args, queue):
        calls.append(args[0])

    monkeypatch.setattr(update_live_segments_task, "apply_async", apply_async)
    return calls


@pytest.fixture
def a_live_segment(cast, django_capture_on_commit_callbacks):
    return make_live(django_capture_on_commit_callbacks, "Americans", all_of(US))


def test_one_task_per_transaction_with_every_id_once(
    cast, a_live_segment, queued, django_capture_on_commit_callbacks
):
    vip = cast.tags["vip"]
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        tags.attach_tag(cast["Bob"], vip)
        tags.attach_tag(cast["Cy"], vip)
        tags.detach_tag(cast["Bob"], vip)
        notify.contacts_changed([cast["Cy"].pk, cast["Ann"].pk])

    assert queued == [sorted([cast["Ann"].pk, cast["Bob"].pk, cast["Cy"].pk])]


def test_ids_are_scheduled_in_tasks_of_batch_size(
    a_live_segment, queued, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(notify, "BATCH_SIZE", 2)
    with django_capture_on_commit_callbacks(execute=True):
        notify.contacts_changed([5, 1, 4, 2, 3, 1])

    assert queued == [[1, 2], [3, 4], [5]]


def test_a_savepoint_rolled_back_takes_only_its_own_callback(
    cast, a_live_segment, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notify.contacts_changed([cast["Ann"].pk])
        try:
            with transaction.atomic():
                notify.contacts_changed([cast["Bob"].pk])
                raise RuntimeError("the inner change fails")
        except RuntimeError:
            pass

    # Bob's id may go along (re-evaluating an unchanged contact changes nothing); Ann's must.
    assert len(queued) == 1 and cast["Ann"].pk in queued[0]


def test_a_rolled_back_transaction_leaves_no_ids_for_the_next_one(
    cast, a_live_segment, queued, django_capture_on_commit_callbacks
):
    # given a transaction that collected Bob's id, then rolled back
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                notify.contacts_changed([cast["Bob"].pk])
                raise RuntimeError("the change fails")
        except RuntimeError:
            pass
    # when the next transaction on the connection changes Ann, after another callback
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        transaction.on_commit(lambda: None)
        notify.contacts_changed([cast["Ann"].pk])

    # then only Ann is re-evaluated: Bob's change never happened
    assert queued == [[cast["Ann"].pk]]


def test_without_a_live_segment_nothing_is_scheduled_and_it_costs_one_query(
    cast, queued, django_capture_on_commit_callbacks, django_assert_num_queries
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        tags.attach_tag(cast["Bob"], cast.tags["vip"])
    with django_assert_num_queries(1):
        for callback in callbacks:
            callback()

    assert queued == []


def test_a_bulk_tag_returns_no_ids_while_no_segment_is_live(
    cast, queued, django_capture_on_commit_callbacks, django_assert_num_queries
):
    from contacts.models import Contact
    from tags.records import TAGGABLE_TYPES

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        tags.bulk_tag(TAGGABLE_TYPES["contacts"], Contact.objects.all(), add=[cast.tags["vip"]])

    assert callbacks == []  # no ids were collected, so nothing waits for the commit
    assert queued == []


# Real commits and rollbacks (each test's own transaction would hide them); flushed after,
# keeping the roles that migrations seeded.
real_transactions = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@real_transactions
def test_nothing_is_scheduled_before_the_commit_or_after_a_rollback(cast, queued, manager):
    services.create_segment(name="Americans", criteria=all_of(US), user=manager, mode="live")
    queued.clear()

    with transaction.atomic():
        notify.contacts_changed([cast["Bob"].pk])
        assert queued == []
        transaction.set_rollback(True)
    assert queued == []
    with transaction.atomic():
        notify.contacts_changed([cast["Cy"].pk])
        assert queued == []

    assert queued == [[cast["Cy"].pk]]


@real_transactions
def test_outside_a_transaction_it_is_scheduled_at_once(cast, queued, manager):
    services.create_segment(name="Americans", criteria=all_of(US), user=manager, mode="live")
    queued.clear()

    notify.contacts_changed([cast["Bob"].pk])

    assert queued == [[cast["Bob"].pk]]


@pytest.fixture
def inline_tasks():
    """Without a broker tasks run inline (settings); said here, as that is under test."""
    with celery_conf(CELERY_TASK_ALWAYS_EAGER=True):
        yield


@real_transactions
def test_a_committed_tag_attach_reaches_a_live_segment_inline(cast, manager, inline_tasks):
    segment = services.create_segment(
        name="VIPs",
        criteria=all_of({"field": "tags", "operator": "has", "value": cast.tags["vip"].pk}),
        user=manager,
        mode="live",
    )
    assert names(segment) == {"Ann", "Dee"}  # the sync queued by the creation ran at commit

    recount_tags()
    tags.attach_tag(cast["Bob"], cast.tags["vip"])  # commits; the update runs right after

    assert names(segment) == {"Ann", "Bob", "Dee"}


@pytest.mark.parametrize("bad", [["7"], [0], "7", [None]])
def test_contacts_changed_refuses_what_is_not_an_id(db, bad):
    with pytest.raises(ValueError, match="contact_ids: "):
        notify.contacts_changed(bad)


# --- the tasks, inline without a broker --------------------------------------------------------


def test_the_update_task_runs_inline_and_reports(cast, a_live_segment):
    from contacts.models import Contact

    Contact.objects.filter(pk=cast["Bob"].pk).update(country="US")

    result = update_live_segments_task.delay([cast["Bob"].pk]).get()

    assert result == {"contacts": 1, "segments": 1, "joined": 1, "left": 0}
    assert names(a_live_segment) == {"Ann", "Bob", "Dee"}


def test_the_update_task_refuses_bad_ids_without_retrying(db):
    with pytest.raises(ValueError, match="contact_ids: 'x' is not an id"):
        update_live_segments_task.delay(["x"]).get()


def test_the_sync_task_of_a_deleted_segment_does_nothing(db):
    assert sync_segment_task.delay(123456).get() == "deleted"


def test_the_follow_task_of_a_run_nobody_follows_does_nothing(cast, manager):
    from segments.sync import sync_segment

    segment = services.create_segment(name="Americans", criteria=all_of(US), user=manager)
    run = sync_segment(segment, manager)

    assert follow_sync_run_task.delay(run.pk).get() == {
        "contacts": 0,
        "segments": 0,
        "joined": 0,
        "left": 0,
    }


@pytest.mark.parametrize(
    ("criteria", "relative"),
    [
        ({"conditions": []}, False),
        (all_of(US), False),
        (all_of({"field": "created_at", "operator": "after", "value": "2026-01-01"}), False),
        (all_of({"field": "last_activity_at", "operator": "in_last_days", "value": 9}), True),
        (
            {
                "match": "none",
                "conditions": [
                    US,
                    {
                        "match": "any",
                        "conditions": [
                            {"field": "updated_at", "operator": "not_in_last_days", "value": 3}
                        ],
                    },
                ],
            },
            True,
        ),
    ],
    ids=["empty", "country", "fixed date", "in last days", "nested not in last days"],
)
def test_which_criteria_use_relative_dates(criteria, relative):
    assert uses_relative_dates(criteria) is relative


def test_the_beat_schedule_runs_the_sweep_every_15_minutes(settings):
    from datetime import timedelta

    entry = settings.CELERY_BEAT_SCHEDULE["segments: re-sync live segments with relative dates"]
    assert entry["task"] == "segments.sweep_live_segments"
    assert entry["schedule"] == timedelta(minutes=15)
    from cohort.celery import app

    assert "segments.sweep_live_segments" in app.tasks
