"""The link tables' migrations carry the links across and back (0003–0005), on either database."""

import datetime

import pytest

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
BEFORE = [("tags", "0002_role_permissions")]
AFTER = [("tags", "0005_link_indexes_drop_legacy")]


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


def links():
    with connection.cursor() as cursor:
        cursor.execute("SELECT tag_id, record_id, created_at FROM tags_contacttag ORDER BY 1, 2")
        return cursor.fetchall()


def test_links_go_forward_with_their_record_s_created_at_and_come_back():
    apps = migrate(BEFORE)
    try:
        Tag, Contact = apps.get_model("tags", "Tag"), apps.get_model("contacts", "Contact")
        ContactTag = apps.get_model("tags", "ContactTag")
        tags = [Tag.objects.create(name=n, slug=n, color="#2563eb") for n in ("a", "b")]
        people = [Contact.objects.create(first_name=f"P{n}") for n in range(3)]
        for n, person in enumerate(people):
            Contact.objects.filter(pk=person.pk).update(
                created_at=datetime.datetime(2026, 1, 1 + n, tzinfo=datetime.UTC)
            )
        for tag, person in [(tags[0], people[0]), (tags[0], people[1]), (tags[1], people[1])]:
            ContactTag.objects.create(tag=tag, record=person)
        before = links()

        apps = migrate(AFTER)

        assert links() == before
        created = dict(
            apps.get_model("contacts", "Contact").objects.values_list("pk", "created_at")
        )
        moved = apps.get_model("tags", "ContactTag").objects.values_list(
            "record_id", "record_created_at"
        )
        assert all(created[pk] == at for pk, at in moved)

        migrate(BEFORE)

        assert links() == before
    finally:
        migrate(AFTER)
