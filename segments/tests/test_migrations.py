"""Migrations 0005-0007 carry membership and removal rows into the keyed tables, and back."""

import pytest

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BEFORE = [("segments", "0004_segment_sync_schedule")]
AFTER = [("segments", "0007_membership_keyed_tables_in_place")]


def migrated(target):
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    return MigrationExecutor(connection).loader.project_state(target).apps


def rows(apps):
    members = apps.get_model("segments", "SegmentMember").objects.order_by("contact_id")
    removals = apps.get_model("segments", "SegmentRemoval").objects.order_by("contact_id")
    return (
        list(members.values_list("segment_id", "contact_id", "added_how")),
        list(removals.values_list("segment_id", "contact_id")),
    )


def test_membership_rows_survive_the_migration_both_ways():
    try:
        # given memberships and a removal in the old tables
        old = migrated(BEFORE)
        Contact = old.get_model("contacts", "Contact")
        segment = old.get_model("segments", "Segment").objects.create(name="Migrated")
        ann, bob, cy = (Contact.objects.create(first_name=name) for name in ("Ann", "Bob", "Cy"))
        now = timezone.now()
        member = old.get_model("segments", "SegmentMember").objects
        member.create(segment=segment, contact=ann, added_how="rule", added_at=now)
        member.create(segment=segment, contact=bob, added_how="manual", added_at=now)
        old.get_model("segments", "SegmentRemoval").objects.create(
            segment=segment, contact=cy, removed_at=now
        )
        expected = (
            [(segment.pk, ann.pk, "rule"), (segment.pk, bob.pk, "manual")],
            [(segment.pk, cy.pk)],
        )

        # when migrated forward, then back
        assert rows(migrated(AFTER)) == expected
        assert rows(migrated(BEFORE)) == expected
    finally:
        # Every app's latest migration, not AFTER: later migrations must be back for the
        # tests that run next on this database.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
