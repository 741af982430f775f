"""Tag links without database foreign keys: the services keep them, check_tag_links repairs."""

import pytest

from django.db import connection

from contacts.models import Contact
from contacts.services import delete_contact
from deals.models import Deal
from deals.services import delete_deal
from tags import services
from tags.integrity import check_tag_links
from tags.models import ContactTag, DealTag, Tag
from tags.records import TAGGABLE_TYPES

pytestmark = pytest.mark.django_db


@pytest.fixture
def linked(db):
    tags = [services.create_tag(name) for name in ("a", "b")]
    contacts = [Contact.objects.create(first_name=f"C{n}") for n in range(4)]
    services.bulk_tag(TAGGABLE_TYPES["contacts"], Contact.objects.all(), add=tags)
    return tags, contacts


def raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_record_delete_removes_its_links_and_counts(linked):
    tags, contacts = linked
    delete_contact(contacts[0])
    deal = Deal.objects.create(title="D")
    services.attach_tag(deal, tags[0])
    delete_deal(deal)

    assert not ContactTag.objects.filter(record_id=contacts[0].pk).exists()
    assert not DealTag.objects.exists()
    assert [t.contacts_count for t in Tag.objects.order_by("pk")] == [3, 3]
    assert Tag.objects.get(pk=tags[0].pk).deals_count == 0
    assert check_tag_links().ok


def test_merge_and_delete_remove_the_tag_s_links(linked):
    tags, _ = linked
    services.merge_tags(tags[0], tags[1])
    assert not ContactTag.objects.filter(tag_id=tags[0].pk).exists()
    services.delete_tag(tags[1])
    assert not ContactTag.objects.exists()
    assert check_tag_links().ok


def test_the_check_finds_and_repairs_orphans(linked):
    tags, contacts = linked
    # Deleted behind the services' back: nothing in the database stops it any more.
    raw("DELETE FROM contacts_contact WHERE id = %s", [contacts[0].pk])
    raw("DELETE FROM tags_tag WHERE id = %s", [tags[1].pk])

    found = check_tag_links(repair=False)

    assert found.without_record == {"contacts": 2, "leads": 0, "deals": 0}
    assert found.without_tag["contacts"] == 4  # the link to contacts[0] counts under both
    assert not found.ok and found.lines()
    assert ContactTag.objects.count() == 8

    repaired = check_tag_links(repair=True)

    assert repaired.repaired and repaired.problems == found.problems
    assert sorted(ContactTag.objects.values_list("tag_id", "record_id")) == [
        (tags[0].pk, c.pk) for c in contacts[1:]
    ]
    assert Tag.objects.get(pk=tags[0].pk).contacts_count == 3
    assert check_tag_links().ok and check_tag_links().lines() == ["tag links: no orphan link"]


def test_check_integrity_runs_the_tag_link_check(linked, capsys):
    from django.core.management import CommandError, call_command

    _, contacts = linked
    raw("DELETE FROM contacts_contact WHERE id = %s", [contacts[0].pk])

    with pytest.raises(CommandError, match="2 stray row"):
        call_command("check_integrity")
    assert "tag links: 2 contacts link(s) whose record is gone, found" in capsys.readouterr().out

    call_command("check_integrity", "--repair")
    assert "tag links: 2 contacts link(s) whose record is gone, removed" in capsys.readouterr().out
    call_command("check_integrity")
    assert "No stray rows." in capsys.readouterr().out
