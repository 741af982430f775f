"""Concurrent syncs and manual edits: they never interleave, and membership stays consistent.

On PostgreSQL an advisory lock and the segment's row lock order them; on SQLite one
writer runs at a time (testing.concurrency explains the test database).
"""

import random
import threading
import time
from functools import partial

import pytest

from django.core.exceptions import ValidationError
from django.db import connection, transaction

from contacts.models import Contact
from contacts.services import delete_contact
from segments import services
from segments.models import Segment, SegmentMember, SegmentRemoval, SyncRun
from segments.sync import SegmentBusy, SyncInProgress, sync_segment
from testing.concurrency import errors_in, in_threads

# serialized_rollback: the flush after a transactional test must not lose the seeded roles.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

US = {"conditions": [{"field": "country", "operator": "equals", "value": "US"}]}


def member_ids(segment: Segment) -> set[int]:
    return set(SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True))


def check_consistent(segment: Segment, cast) -> None:
    segment.refresh_from_db()
    members = member_ids(segment)
    assert members == {cast["Ann"].pk, cast["Dee"].pk}
    assert segment.member_count == len(members)


def test_a_second_sync_while_one_runs_is_refused(cast, manager, slow_sync):
    segment = services.create_segment(name="Americans", criteria=US, user=manager)

    def job():
        return sync_segment(Segment.objects.get(pk=segment.pk), manager)

    results = in_threads(job, job)

    refused = [r for r in results if isinstance(r, SyncInProgress)]
    runs = [r for r in results if isinstance(r, SyncRun)]
    assert len(refused) == 1 and len(runs) == 1, results
    assert runs[0].outcome == "succeeded"
    assert SyncRun.objects.filter(segment=segment).count() == 1
    check_consistent(segment, cast)


def test_syncs_that_wait_run_one_after_the_other(cast, manager, slow_sync):
    segment = services.create_segment(name="Americans", criteria=US, user=manager)

    def job():
        return sync_segment(Segment.objects.get(pk=segment.pk), manager, wait=True)

    # SQLite's test database refuses instead of waiting: asking again is the waiting there.
    results = in_threads(job, job, also=(SyncInProgress,))

    assert all(isinstance(r, SyncRun) and r.outcome == "succeeded" for r in results), results
    assert sorted(r.added for r in results) == [0, 2]
    assert SyncRun.objects.filter(segment=segment).count() == 2
    check_consistent(segment, cast)


def test_a_manual_add_during_a_sync_is_refused_at_once_and_counts(cast, manager, slow_sync):
    segment = services.create_segment(name="Americans", criteria=US, user=manager)

    def syncing():
        return sync_segment(Segment.objects.get(pk=segment.pk), manager)

    def adding():
        time.sleep(0.1)  # let the sync take its locks first
        return services.add_member(Segment.objects.get(pk=segment.pk), cast["Bob"], manager)

    results = in_threads(syncing, adding)

    assert isinstance(results[0], SyncRun), results
    if connection.vendor == "postgresql":  # refused rather than wait for the whole sync (M3)
        assert isinstance(results[1], SegmentBusy), results
        expected = 2
    else:  # SQLite: one writer at a time, the add goes after the sync
        assert results[1] is True
        expected = 3
    segment.refresh_from_db()
    assert segment.member_count == SegmentMember.objects.filter(segment=segment).count()
    assert segment.member_count == expected


def test_a_manual_remove_racing_a_sync_wins_and_stays(cast, manager):
    segment = services.create_segment(name="Americans", criteria=US, user=manager)
    sync_segment(segment, manager)
    dee = cast["Dee"]

    for _ in range(4):
        # given Dee a member again (a manual add clears the earlier removal)
        services.add_member(segment, dee, manager)
        assert not SegmentRemoval.objects.filter(segment=segment, contact=dee).exists()

        # when a sync and the removal of Dee start together, in either order
        def syncing():
            time.sleep(random.uniform(0, 0.02))
            return sync_segment(Segment.objects.get(pk=segment.pk), manager, wait=True)

        def removing():
            time.sleep(random.uniform(0, 0.02))
            return services.remove_member(Segment.objects.get(pk=segment.pk), dee, manager)

        # A removal refused while the sync runs (SegmentBusy) is simply asked again.
        results = in_threads(syncing, removing, also=(SyncInProgress, SegmentBusy))

        # then the removal happened, is remembered, and the count is the rows'
        assert not errors_in(results), results
        assert results[0].outcome == "succeeded" and results[1] is True
        assert member_ids(segment) == {cast["Ann"].pk}
        assert SegmentRemoval.objects.filter(segment=segment, contact=dee).exists()
        segment.refresh_from_db()
        assert segment.member_count == 1
        # and the next sync keeps Dee out
        assert sync_segment(segment, manager).added == 0
        assert member_ids(segment) == {cast["Ann"].pk}


def after_a_moment(function, *args, **kwargs):
    def run():
        time.sleep(random.uniform(0, 0.01))
        return function(*args, **kwargs)

    return run


def test_deleting_a_contact_during_syncs_and_manual_edits_keeps_member_counts(cast, manager):
    americans = services.create_segment(name="Americans", criteria=US, user=manager)
    picked = services.create_segment(name="Picked", user=manager)
    others = services.create_segment(name="Others", user=manager)

    for round_number in range(4):
        # given a new American, picked by hand, whom the next sync of Americans would add
        contact = Contact.objects.create(first_name=f"New {round_number}", country="US")
        services.add_member(picked, contact, manager)

        # when the contact is deleted while a sync and manual edits involve it
        results = in_threads(
            after_a_moment(delete_contact, Contact.objects.get(pk=contact.pk)),
            after_a_moment(partial(sync_segment, wait=True), americans, manager),
            after_a_moment(services.remove_member, picked, contact, manager),
            after_a_moment(services.add_member, others, contact, manager),
            also=(SyncInProgress, SegmentBusy),
        )

        # then the delete went through; a write that came too late failed cleanly: the sync
        # (a job, retried) at its commit, a manual add at once, saying why
        assert results[0] is None, results
        assert results[1].outcome == "succeeded" or "IntegrityError" in results[1].error
        assert not errors_in(results[:3]), results
        if isinstance(results[3], Exception):
            assert isinstance(results[3], ValidationError), results
            assert results[3].messages == [
                f"New {round_number} no longer exists: someone deleted the contact."
            ]
        assert not Contact.objects.filter(pk=contact.pk).exists()
        for segment in Segment.objects.all():
            assert segment.member_count == len(member_ids(segment)), segment.name


def test_a_manual_add_of_a_contact_being_deleted_waits_and_says_it_is_gone(cast, manager):
    # given a contact someone is deleting (not yet committed)
    picked = services.create_segment(name="Picked", user=manager)
    contact = Contact.objects.create(first_name="Leaving", country="US")
    deleted = threading.Event()

    def deleting():
        with transaction.atomic():
            delete_contact(Contact.objects.get(pk=contact.pk))
            deleted.set()
            time.sleep(0.5)  # the add arrives meanwhile

    def adding():
        assert deleted.wait(timeout=10)
        return services.add_member(picked, contact, manager)

    # when someone adds it to a segment by hand meanwhile
    results = in_threads(deleting, adding)

    # then the add waited for the delete and refused, saying why: no IntegrityError at commit
    assert results[0] is None, results
    assert isinstance(results[1], ValidationError), results
    assert results[1].messages == ["Leaving no longer exists: someone deleted the contact."]
    picked.refresh_from_db()
    assert (picked.member_count, member_ids(picked)) == (0, set())


def test_no_membership_outlives_a_contact_deleted_during_syncs_and_live_updates(cast, manager):
    # Membership rows have no foreign key: the delete and the writers exclude each other.
    from segments.integrity import check_segment_rows
    from segments.live import update_live_segments

    americans = services.create_segment(name="Americans", criteria=US, user=manager)
    live = services.create_segment(name="Live Americans", criteria=US, user=manager)
    Segment.objects.filter(pk=live.pk).update(mode="live")

    for round_number in range(6):
        # given a new American whom the next sync and live update would add
        contact = Contact.objects.create(first_name=f"Gone {round_number}", country="US")

        # when it is deleted while a sync and a live update evaluate it
        results = in_threads(
            after_a_moment(delete_contact, Contact.objects.get(pk=contact.pk)),
            after_a_moment(partial(sync_segment, wait=True), americans, manager),
            after_a_moment(update_live_segments, [contact.pk]),
            also=(SyncInProgress,),
        )

        # then everyone succeeded, and no row of the contact survived anywhere
        assert not errors_in(results), results
        assert results[1].outcome == "succeeded", results[1].error
        assert not SegmentMember.objects.filter(contact_id=contact.pk).exists()
        assert check_segment_rows() == []
        for segment in Segment.objects.all():
            assert segment.member_count == len(member_ids(segment)), segment.name
