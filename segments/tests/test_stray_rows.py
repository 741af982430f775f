"""Membership, removal and change rows have no database foreign key: the contact's delete
takes them, and `manage.py check_integrity` finds and repairs any that slip past."""

import pytest

from django.core.management import CommandError, call_command
from django.db import connection

from contacts.services import delete_contact
from segments import services
from segments.integrity import check_segment_rows
from segments.models import MembershipChange, Segment, SegmentMember, SegmentRemoval
from segments.sync import sync_segment

US = {"conditions": [{"field": "country", "operator": "equals", "value": "US"}]}


@pytest.fixture
def americans(cast, manager):
    segment = services.create_segment(name="Americans", criteria=US, user=manager)
    sync_segment(segment, manager)
    return segment


def test_deleting_a_contact_deletes_its_members_removals_and_changes(cast, americans, manager):
    from tags.counters import recount_tags

    recount_tags()  # the cast's tag links were made without the counters
    picked = services.create_segment(name="Picked", user=manager)
    services.add_member(picked, cast["Ann"], manager)
    services.remove_member(americans, cast["Ann"], manager)

    delete_contact(cast["Ann"])

    ann = cast["Ann"].pk
    assert not SegmentMember.objects.filter(contact_id=ann).exists()
    assert not SegmentRemoval.objects.filter(contact_id=ann).exists()
    assert not MembershipChange.objects.filter(contact_id=ann).exists()
    assert [s.member_count for s in Segment.objects.order_by("pk")] == [1, 0]
    assert check_segment_rows() == []


def _stray_rows(segment: Segment) -> None:
    """Rows of a contact and of a segment that are gone, as a delete by raw SQL leaves them."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SegmentMember._meta.db_table} "
            "(segment_id, contact_id, added_how, added_at) VALUES (%s, 999999, 'rule', %s)",
            [segment.pk, "2026-01-01 00:00:00"],
        )
        cursor.execute(
            f"INSERT INTO {MembershipChange._meta.db_table} (segment_id, contact_id, change, "
            "changed_at, reason) VALUES (888888, 999999, 'joined', %s, 'manual')",
            ["2026-01-01 00:00:00"],
        )
    Segment.objects.filter(pk=segment.pk).update(member_count=3)


def test_check_integrity_reports_stray_rows_and_fails(cast, americans, capsys):
    _stray_rows(americans)

    with pytest.raises(CommandError, match="3 stray row"):
        call_command("check_integrity")

    out = capsys.readouterr().out
    assert "segments_segmentmember.contact_id: 1 stray row(s)" in out
    assert "segments_membershipchange.contact_id: 1 stray row(s)" in out
    assert "segments_membershipchange.segment_id: 1 stray row(s)" in out
    assert SegmentMember.objects.filter(contact_id=999999).exists()  # reported, not touched


def test_check_integrity_repair_deletes_them_and_recounts(cast, americans, capsys):
    _stray_rows(americans)

    call_command("check_integrity", "--repair")

    assert "(deleted)" in capsys.readouterr().out
    assert check_segment_rows() == []
    americans.refresh_from_db()
    assert americans.member_count == SegmentMember.objects.filter(segment=americans).count() == 2
    call_command("check_integrity")
    assert "No stray rows." in capsys.readouterr().out
