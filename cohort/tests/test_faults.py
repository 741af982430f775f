"""A database error in the middle of a sync, a bulk tag, a merge or an import changes nothing.

The fault is a real failing statement (a query of a table that does not exist) put
in place of the nth statement matching a pattern, after earlier writes of the same
operation have run; on PostgreSQL it also aborts the transaction, as a real fault
would. Every row of the tables involved is compared before and after.
"""

import re
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from django.apps import apps
from django.db import DatabaseError, connection

from contacts.models import Contact
from leads.models import Lead
from segments import services as segments
from segments.models import Segment, SegmentMember, SyncRun
from segments.sync import sync_segment
from tags import services as tags
from tags.models import ContactTag, LeadTag, Tag
from tags.records import TAGGABLE_TYPES
from transfers.services import UPDATE, import_csv

CONTACTS = TAGGABLE_TYPES["contacts"]
SNAPSHOT_APPS = {"contacts", "leads", "deals", "tags", "segments", "audit"}
US = {"conditions": [{"field": "country", "operator": "equals", "value": "US"}]}
GB = {"conditions": [{"field": "country", "operator": "equals", "value": "GB"}]}


def snapshot(*, skip_apps=(), skip_models=(), skip_fields=()) -> dict[str, list[dict]]:
    """Every row of the operations' tables, in primary-key order."""
    return {
        model._meta.label: [
            {k: v for k, v in row.items() if k not in skip_fields}
            for row in model.objects.order_by("pk").values()
        ]
        for model in apps.get_models()
        if model._meta.app_label in SNAPSHOT_APPS - set(skip_apps) and model not in skip_models
    }


@contextmanager
def failing(pattern: str, nth: int = 1):
    """The nth statement whose SQL matches `pattern` fails in the database itself."""
    matcher = re.compile(pattern, re.IGNORECASE)
    matched = []

    def wrapper(execute, sql, params, many, context):
        if matcher.search(sql):
            matched.append(sql)
            if len(matched) == nth:
                return execute("SELECT * FROM injected_fault", None, False, context)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield
    assert len(matched) >= nth, f"only {len(matched)} statements matched {pattern!r}"


def assert_counters_exact() -> None:
    for tag in Tag.objects.all():
        for taggable in TAGGABLE_TYPES.values():
            links = taggable.link_model.objects.filter(tag=tag).count()
            assert getattr(tag, taggable.counter) == links, (tag.name, taggable.key)


@pytest.fixture
def world(db, manager) -> SimpleNamespace:
    """Eight contacts (odd ones in the US), three tags on contacts and a lead, a synced
    segment of Americans with a manual removal and a manual addition."""
    people = [
        Contact.objects.create(first_name=f"P{i}", country="US" if i % 2 else "GB")
        for i in range(8)
    ]
    vip, hot, old = (tags.create_tag(name) for name in ("vip", "hot", "old"))
    everyone = Contact.objects.order_by("pk")
    tags.bulk_tag(CONTACTS, everyone.filter(pk__in=[p.pk for p in people[:5]]), add=[vip])
    tags.bulk_tag(CONTACTS, everyone.filter(pk__in=[p.pk for p in people[4:]]), add=[old])
    lead = Lead.objects.create(name="Lead")
    tags.attach_tag(lead, old)
    tags.attach_tag(lead, hot)
    segment = segments.create_segment(name="Americans", criteria=US, user=manager)
    sync_segment(segment, manager)
    segments.remove_member(segment, people[1], manager)
    segments.add_member(segment, people[2], manager)
    return SimpleNamespace(people=people, vip=vip, hot=hot, old=old, lead=lead, segment=segment)


@pytest.mark.parametrize(
    "pattern",
    [
        r'INSERT INTO "?segments_segmentmember\b',  # after the leavers were deleted
        r'INSERT INTO "segments_syncrun"',  # the run, made before the membership changes
        r'UPDATE "segments_syncrun"',  # its counts, after the membership was replaced
        r'UPDATE "segments_segment"',  # the last statement
    ],
)
def test_a_sync_failing_midway_leaves_membership_as_it_was(world, manager, pattern):
    # given a segment whose criteria changed, so that a sync removes and adds members
    segment = world.segment
    segments.update_segment(segment, user=manager, criteria=GB)
    # A failed run is recorded (with its audit entry) after the rollback, by design.
    before = snapshot(skip_apps={"audit"}, skip_models={SyncRun}, skip_fields={"last_run_id"})

    # when the sync hits a database error
    with failing(pattern):
        run = sync_segment(segment, manager)

    # then it is a failed run and nothing else changed
    assert run.outcome == "failed" and "injected_fault" in run.error
    segment.refresh_from_db()
    assert segment.last_run == run
    assert snapshot(skip_apps={"audit"}, skip_models={SyncRun}, skip_fields={"last_run_id"}) == (
        before
    )
    # and the next sync does the whole job: the Britons, manual addition included
    assert sync_segment(segment, manager).outcome == "succeeded"
    britons = {p.pk for p in world.people if p.country == "GB"}
    members = SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True)
    assert set(members) == britons
    assert Segment.objects.get(pk=segment.pk).member_count == len(britons)


@pytest.mark.parametrize(
    ("pattern", "nth"),
    [
        (r'INSERT INTO "?tags_contacttag\b', 2),  # after the first tag's links and counter
        (r'DELETE FROM "?tags_contacttag\b', 1),  # after every addition
        (r'UPDATE "tags_tag"', 3),  # the removal's counter, the last write
    ],
)
def test_a_bulk_tag_failing_midway_changes_nothing(world, pattern, nth):
    everyone, add, remove = Contact.objects.all(), [world.vip, world.hot], [world.old]
    before = snapshot()

    with pytest.raises(DatabaseError, match="injected_fault"), failing(pattern, nth):
        tags.bulk_tag(CONTACTS, everyone, add=add, remove=remove)

    assert snapshot() == before
    result = tags.bulk_tag(CONTACTS, everyone, add=add, remove=remove)
    assert (result.added, result.removed) == (3 + 8, 4)
    assert ContactTag.objects.filter(tag=world.old).count() == 0
    assert_counters_exact()


@pytest.mark.parametrize(
    "pattern",
    [
        r'INSERT INTO "?tags_leadtag\b',  # after the contacts' links were copied
        r'DELETE FROM "tags_tag"',  # after every link was copied
        r'UPDATE "tags_tag"',  # the target's recount, the last write
    ],
)
def test_a_merge_failing_midway_changes_nothing(world, pattern):
    before = snapshot()

    with pytest.raises(DatabaseError, match="injected_fault"), failing(pattern):
        tags.merge_tags(world.old, world.vip)

    assert snapshot() == before
    # Model.delete() cleared the in-memory source's id, though its row was restored.
    tags.merge_tags(Tag.objects.get(name="old"), world.vip)
    assert not Tag.objects.filter(name="old").exists()
    assert ContactTag.objects.filter(tag=world.vip).count() == 8
    assert LeadTag.objects.filter(tag=world.vip).get().record == world.lead
    assert_counters_exact()


IMPORT = (
    b"first_name,email,country,tags\r\n"
    b"Ann,ann@new.example,US,vip;brand-new\r\n"
    b"Ben,ben@new.example,GB,brand-new\r\n"
    b"Zed,zed@old.example,FR,vip;hot\r\n"
)


@pytest.mark.parametrize(
    ("pattern", "nth"),
    [
        (r'UPDATE "contacts_contact"', 1),  # after the new contacts were inserted
        (r'INSERT INTO "tags_tag"', 1),  # creating the new tag, after the contact writes
        (r'INSERT INTO "?tags_contacttag\b', 2),  # after the first tag's links
    ],
)
def test_an_import_failing_midway_imports_nothing(world, admin_user, pattern, nth):
    # given a contact the file updates (matched by email)
    Contact.objects.create(first_name="Zed", email="zed@old.example", country="DE")
    before = snapshot()

    with pytest.raises(DatabaseError, match="injected_fault"), failing(pattern, nth):
        import_csv("contacts", IMPORT, user=admin_user, on_duplicate=UPDATE, dry_run=False)

    assert snapshot() == before
    plan = import_csv("contacts", IMPORT, user=admin_user, on_duplicate=UPDATE, dry_run=False)
    assert plan.summary() == "2 new, 1 updated, 0 skipped, 0 errors"
    assert Contact.objects.get(email="zed@old.example").country.code == "FR"
    assert set(Tag.objects.get(name="brand-new").contacts.values_list("first_name", flat=True)) == {
        "Ann",
        "Ben",
    }
    assert_counters_exact()
