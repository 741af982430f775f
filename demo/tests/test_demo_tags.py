"""The demo tag links: one statement per record type, the same links as the per-tag rule."""

import pytest

from audit.models import AuditEntry
from contacts.models import Contact
from demo.tags import SCALE, TAGS_PER_RECORD, _rates, seed_demo_tags
from leads.models import Lead
from tags.models import ContactTag, LeadTag, Tag

pytestmark = pytest.mark.django_db


def expected_links(ids: list[int], tags: list[Tag], per_record: float) -> set[tuple[int, int]]:
    """The rule the per-tag seed applied: hash of (record id, tag id) below the tag's rate."""
    rates = _rates(len(tags), per_record)
    return {
        (tag.pk, pk)
        for tag, rate in zip(tags, rates, strict=True)
        for pk in ids
        if (pk * (7919 + 2 * tag.pk) + tag.pk * 104729) % SCALE < rate
    }


def test_seed_writes_the_rule_s_links_with_the_record_s_created_at():
    contacts = Contact.objects.bulk_create(Contact(first_name=f"C{n}") for n in range(300))
    Lead.objects.bulk_create(Lead(name=f"L{n}") for n in range(50))
    skipped = contacts[0].pk  # below first_ids: never tagged

    added = seed_demo_tags({"contacts": skipped + 1}, 12)

    tags = list(Tag.objects.order_by("pk"))
    contact_ids = [c.pk for c in contacts if c.pk > skipped]
    want = expected_links(contact_ids, tags, TAGS_PER_RECORD["contacts"])
    got = set(ContactTag.objects.values_list("tag_id", "record_id"))
    assert got == want
    lead_ids = list(Lead.objects.values_list("pk", flat=True))
    want_leads = expected_links(lead_ids, tags, TAGS_PER_RECORD["leads"])
    assert set(LeadTag.objects.values_list("tag_id", "record_id")) == want_leads
    assert added == len(want) + len(want_leads)
    created = dict(Contact.objects.values_list("pk", "created_at"))
    assert all(
        link.record_created_at == created[link.record_id] for link in ContactTag.objects.all()
    )
    for tag in tags:
        assert tag.contacts_count == sum(1 for t, _ in want if t == tag.pk)
    assert AuditEntry.objects.filter(action="tag.bulk_added").count() == len(
        {t for t, _ in want}
    ) + len({t for t, _ in want_leads})


def test_seeding_again_adds_nothing_and_keeps_the_counters():
    Contact.objects.bulk_create(Contact(first_name=f"C{n}") for n in range(100))
    first = seed_demo_tags({}, 5)

    again = seed_demo_tags({}, 5)

    assert first > 0 and again == 0
    for tag in Tag.objects.all():
        assert tag.contacts_count == ContactTag.objects.filter(tag=tag).count()
