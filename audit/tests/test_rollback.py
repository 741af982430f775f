"""An entry lives and dies with its change: same transaction, both ways."""

import pytest

from django.db import DatabaseError, connection

from audit.choices import Action
from audit.models import AuditEntry
from segments.choices import SyncOutcome
from segments.models import SegmentMember
from segments.sync import sync_segment
from tags import services as tag_services
from tags.models import Tag

AUDIT_INSERT = 'INSERT INTO "audit_auditentry"'


class FailOnce:
    """A query wrapper that fails the first statement containing `marker`."""

    def __init__(self, marker: str) -> None:
        self.marker, self.failed = marker, False

    def __call__(self, execute, sql, params, many, context):
        if not self.failed and self.marker in sql.replace("`", '"'):
            self.failed = True
            raise DatabaseError(f"injected failure on {self.marker}")
        return execute(sql, params, many, context)


def test_a_change_whose_entry_cannot_be_written_is_undone(db, admin_user):
    with connection.execute_wrapper(FailOnce(AUDIT_INSERT)), pytest.raises(DatabaseError):
        tag_services.create_tag("Orphan", user=admin_user)

    assert not Tag.objects.filter(name="Orphan").exists()
    assert not AuditEntry.objects.filter(target_name="Orphan").exists()


def test_a_change_that_fails_after_its_entry_leaves_no_entry(db, tag, contact, admin_user):
    # given a tag on a contact, whose delete fails after the entry was written
    tag_services.attach_tag(contact, tag)
    failure = FailOnce('DELETE FROM "tags_tag"')

    with connection.execute_wrapper(failure), pytest.raises(DatabaseError):
        tag_services.delete_tag(tag, user=admin_user)

    assert failure.failed
    assert Tag.objects.filter(pk=tag.pk).exists()
    assert not AuditEntry.objects.filter(action=Action.TAG_DELETED).exists()


def test_a_sync_rolled_back_records_its_failure_and_no_sync(db, segment, contact, admin_user):
    # given a sync whose own audit entry cannot be written: the whole sync rolls back
    with connection.execute_wrapper(FailOnce(AUDIT_INSERT)):
        run = sync_segment(segment, admin_user)

    assert run.outcome == SyncOutcome.FAILED
    assert not SegmentMember.objects.filter(segment=segment).exists()
    actions = list(
        AuditEntry.objects.filter(target_id=segment.pk, target_type="segment").values_list(
            "action", flat=True
        )
    )
    assert actions == [Action.SEGMENT_SYNC_FAILED, Action.SEGMENT_CREATED]
