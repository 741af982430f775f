"""Migrations 0006–0008 key every tag's name; look-alikes already stored are renamed, not
merged, so no link moves (#15 L5). Backwards, the keys go and the names stay."""

import pytest

from tags.tests.test_link_migrations import migrate

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
BEFORE = [("tags", "0005_link_indexes_drop_legacy")]
AFTER = [("tags", "0008_name_key_unique")]


def test_look_alikes_are_renamed_keeping_their_links_and_the_way_back_works():
    apps = migrate(BEFORE)
    try:
        Tag, Contact = apps.get_model("tags", "Tag"), apps.get_model("contacts", "Contact")
        ContactTag = apps.get_model("tags", "ContactTag")
        names = ["VIP", "Ｖｉｐ", "vip\u200b", "hot-lead", "ß-tag", "SS-TAG"]
        tags = [
            Tag.objects.create(name=n, slug=f"s{i}", color="#2563eb") for i, n in enumerate(names)
        ]
        person = Contact.objects.create(first_name="P")
        for tag in tags:
            ContactTag.objects.create(tag=tag, record=person, record_created_at=person.created_at)
        links = sorted(ContactTag.objects.values_list("tag_id", "record_id"))

        apps = migrate(AFTER)

        Tag = apps.get_model("tags", "Tag")
        stored = dict(Tag.objects.values_list("pk", "name"))
        assert [stored[t.pk] for t in tags] == [
            "VIP",
            "Ｖｉｐ (2)",
            "vip\u200b (3)",
            "hot-lead",
            "ß-tag",
            "SS-TAG (2)",
        ]
        assert len(set(Tag.objects.values_list("name_key", flat=True))) == len(tags)
        assert (
            sorted(apps.get_model("tags", "ContactTag").objects.values_list("tag_id", "record_id"))
            == links
        )
        renames = apps.get_model("audit", "AuditEntry").objects.filter(action="tag.updated")
        assert sorted(renames.values_list("target_id", flat=True)) == [
            tags[1].pk,
            tags[2].pk,
            tags[5].pk,
        ]

        apps = migrate(BEFORE)

        assert apps.get_model("tags", "Tag").objects.get(pk=tags[1].pk).name == "Ｖｉｐ (2)"
    finally:
        migrate(AFTER)
