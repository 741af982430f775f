"""Live updates meeting syncs and changes by hand at the same moment, each on its own
connection: they wait for each other on the segment's lock, and the membership ends as a
sync would make it, with an exact member count and a change row for every move.

On PostgreSQL the threads really interleave; SQLite's test database lets one writer in at
a time and the others retry (testing.concurrency).
"""

import pytest

from contacts.models import Contact
from segments import services
from segments.live import update_live_segments
from segments.models import MembershipChange, Segment, SegmentMember
from segments.sync import SyncInProgress, sync_segment
from testing.concurrency import errors_in, in_threads

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

US = {"conditions": [{"field": "country", "operator": "equals", "value": "US"}]}


def check_consistent(segment: Segment) -> None:
    segment.refresh_from_db()
    members = set(
        SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True)
    )
    expected = set(Contact.objects.filter(country="US").values_list("pk", flat=True))
    assert members == expected
    assert segment.member_count == len(members)
    # Every member joined one time more than it left; everyone else as often as it left.
    for person in Contact.objects.all():
        joins = MembershipChange.objects.filter(segment=segment, contact=person, change="joined")
        leaves = MembershipChange.objects.filter(segment=segment, contact=person, change="left")
        assert joins.count() - leaves.count() == (1 if person.pk in members else 0), person


def test_a_live_update_during_a_sync_waits_and_both_count(cast, manager, slow_sync):
    segment = services.create_segment(name="Americans", criteria=US, user=manager, mode="live")
    sync_segment(segment, manager)
    people = [Contact.objects.create(first_name=f"P{i}", country="US") for i in range(6)]
    Contact.objects.filter(first_name="Ann").update(country="GB")
    ids = [p.pk for p in people] + [cast["Ann"].pk]

    results = in_threads(
        lambda: sync_segment(Segment.objects.get(pk=segment.pk), manager, wait=True),
        lambda: update_live_segments(ids),
        also=(SyncInProgress,),
    )

    assert errors_in(results) == [], results
    check_consistent(segment)


def test_live_updates_and_changes_by_hand_at_once(cast, manager):
    segment = services.create_segment(name="Americans", criteria=US, user=manager, mode="live")
    sync_segment(segment, manager)
    eve = Contact.objects.create(first_name="Eve", country="US")
    Contact.objects.filter(first_name="Dee").update(country="CA")

    results = in_threads(
        lambda: update_live_segments([eve.pk, cast["Dee"].pk]),
        lambda: services.add_member(segment, eve, manager),
        lambda: update_live_segments([eve.pk, cast["Dee"].pk, cast["Ann"].pk]),
    )

    assert errors_in(results) == [], results
    check_consistent(segment)
