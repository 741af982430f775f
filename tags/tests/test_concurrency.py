"""Tag writes racing each other: links are never doubled or lost, counters stay exact.

Real threads, each with its own connection, started together and repeated for a
few rounds so that the interleavings that matter happen. On SQLite the writers
are serialised (see testing.concurrency) and the same invariants must hold.
"""

import random
import time

import pytest

from contacts.models import Contact
from contacts.services import delete_contact
from tags import services
from tags.models import ContactTag, Tag
from tags.records import TAGGABLE_TYPES
from testing.concurrency import errors_in, in_threads
from transfers.services import import_csv

# serialized_rollback: the flush after a transactional test must not lose the seeded roles.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CONTACTS = TAGGABLE_TYPES["contacts"]


def make_contacts(n: int, prefix: str = "P") -> list[Contact]:
    return [Contact.objects.create(first_name=f"{prefix}{i}") for i in range(n)]


def links_of(tag: Tag) -> list[int]:
    return sorted(ContactTag.objects.filter(tag_id=tag.pk).values_list("record_id", flat=True))


def assert_counters_exact() -> None:
    """Every tag's counter equals the number of its link rows."""
    for tag in Tag.objects.all():
        assert tag.contacts_count == ContactTag.objects.filter(tag=tag).count(), tag.name


def test_twenty_parallel_attaches_and_detaches_keep_one_link_and_an_exact_count(db):
    contact = make_contacts(1)[0]
    tag = services.create_tag("contested")

    # 20 attaches at once attach it once
    results = in_threads(*[lambda: services.attach_tag(contact, tag)] * 20)

    assert not errors_in(results), results
    assert results.count(True) == 1
    assert links_of(tag) == [contact.pk]
    tag.refresh_from_db()
    assert tag.contacts_count == 1

    for _ in range(3):
        # given a random starting point, when 10 attaches and 10 detaches run at once
        before = len(links_of(tag))
        attaches = [lambda: services.attach_tag(Contact.objects.get(pk=contact.pk), tag)] * 10
        detaches = [lambda: services.detach_tag(Contact.objects.get(pk=contact.pk), tag)] * 10
        jobs = attaches + detaches
        random.shuffle(jobs)
        results = in_threads(*jobs)

        # then each call either changed the link or found nothing to do, and the net
        # of those that changed it is exactly what is stored
        assert not errors_in(results), results
        attached = sum(r is True for job, r in zip(jobs, results, strict=True) if job in attaches)
        detached = sum(r is True for job, r in zip(jobs, results, strict=True) if job in detaches)
        after = len(links_of(tag))
        assert after in (0, 1)
        assert before + attached - detached == after
        tag.refresh_from_db()
        assert tag.contacts_count == after


def tag_contacts(tag: Tag, contacts: list[Contact]) -> None:
    services.bulk_tag(CONTACTS, Contact.objects.filter(pk__in=[c.pk for c in contacts]), add=[tag])


def attaching(contact: Contact, tag: Tag):
    return lambda: services.attach_tag(contact, tag)


def merging(source: Tag, target: Tag):
    return lambda: services.merge_tags(source, target)


def test_a_merge_racing_attaches_keeps_every_tagged_record_once(db):
    contacts = make_contacts(12)
    for round_number in range(3):
        # given a source tag on contacts 0-3 and a target tag on 2-5
        source = services.create_tag(f"source {round_number}")
        target = services.create_tag(f"target {round_number}")
        tag_contacts(source, contacts[:4])
        tag_contacts(target, contacts[2:6])

        # when the merge runs while contacts 4-11 get the source or the target attached
        late = contacts[4:]
        attaches = [attaching(c, source if i % 2 else target) for i, c in enumerate(late)]
        results = in_threads(merging(source, target), *attaches)

        # then the merge succeeded; an attach of the source either landed before it (and was
        # moved to the target) or was refused cleanly because the source was gone
        assert isinstance(results[0], Tag), results
        refused = {c.pk for c, r in zip(late, results[1:], strict=True) if r not in (True, False)}
        for contact, result in zip(late, results[1:], strict=True):
            if contact.pk in refused:
                assert isinstance(result, services.TagError), result
                assert "no longer exists" in str(result)
        assert refused <= {c.pk for i, c in enumerate(late) if i % 2}
        assert not Tag.objects.filter(pk=source.pk).exists()
        had_either = {c.pk for c in contacts[:6]}
        assert links_of(target) == sorted(had_either | ({c.pk for c in late} - refused))
        assert_counters_exact()


def test_deleting_a_record_while_its_tags_change_keeps_the_counters_exact(db):
    kept, added = services.create_tag("kept"), services.create_tag("added")

    def after_a_moment(function, *args):
        def run():
            time.sleep(random.uniform(0, 0.01))
            return function(*args)

        return run

    for round_number in range(4):
        contact = make_contacts(1, f"R{round_number}-")[0]
        services.attach_tag(contact, kept)

        results = in_threads(
            after_a_moment(delete_contact, Contact.objects.get(pk=contact.pk)),
            after_a_moment(services.attach_tag, contact, added),
            after_a_moment(services.attach_tag, contact, kept),
            after_a_moment(services.detach_tag, contact, kept),
        )

        # An attach that comes after the delete is refused with a reason; nothing else fails.
        assert results[0] is None, results
        for result in errors_in(results):
            assert isinstance(result, services.TagError), results
            assert "no longer exists" in str(result)
        assert not Contact.objects.filter(pk=contact.pk).exists()
        assert_counters_exact()


def test_overlapping_bulk_tag_jobs_neither_deadlock_nor_drift(db):
    contacts = make_contacts(40)
    alpha, beta, gamma = (services.create_tag(name) for name in ("alpha", "beta", "gamma"))
    pks = [c.pk for c in contacts]

    def records(start: int, stop: int):
        return Contact.objects.filter(pk__in=pks[start:stop])

    for _ in range(3):
        links_before = ContactTag.objects.count()
        # Same tags in opposite orders, adds racing removes: the classic deadlock shapes.
        jobs = [
            lambda: services.bulk_tag(CONTACTS, records(0, 25), add=[alpha, beta, gamma]),
            lambda: services.bulk_tag(CONTACTS, records(15, 40), add=[gamma, beta, alpha]),
            lambda: services.bulk_tag(CONTACTS, records(5, 35), add=[beta], remove=[alpha]),
            lambda: services.bulk_tag(CONTACTS, records(10, 30), add=[alpha], remove=[gamma]),
            lambda: services.bulk_tag(CONTACTS, records(0, 40), remove=[beta, gamma]),
            lambda: services.bulk_tag(CONTACTS, records(20, 40), add=[gamma], remove=[beta]),
        ]
        random.shuffle(jobs)
        results = in_threads(*jobs)

        assert not errors_in(results), results
        net = sum(r.added - r.removed for r in results)
        assert ContactTag.objects.count() == links_before + net
        assert_counters_exact()


def test_imports_tagging_at_once_neither_deadlock_nor_fail_on_a_new_tag(db, admin_user):
    # given two files naming the same tags in opposite orders, two of them new
    alpha, beta = services.create_tag("alpha"), services.create_tag("beta")

    def csv_file(prefix: str, tags: str) -> bytes:
        rows = "".join(f"{prefix}{i},{prefix}{i}@x.example,{tags}\r\n" for i in range(30))
        return f"first_name,email,tags\r\n{rows}".encode()

    for round_number in range(2):
        new = f"new-{round_number}"
        files = [
            csv_file(f"a{round_number}-", f'"alpha;beta;{new}-x;{new}-y"'),
            csv_file(f"b{round_number}-", f'"{new}-y;{new}-x;beta;alpha"'),
        ]

        # when both are imported at the same moment
        results = in_threads(
            *[lambda f=f: import_csv("contacts", f, user=admin_user, dry_run=False) for f in files]
        )

        # then both imported every row, with one tag of that name and exact counters
        assert not errors_in(results), results
        summary = "30 new, 0 updated, 0 skipped, 0 errors"
        assert [plan.summary() for plan in results] == [summary, summary]
        assert Tag.objects.get(name=f"{new}-x").contacts_count == 60
        assert Tag.objects.get(name=f"{new}-y").contacts_count == 60
        assert_counters_exact()
    alpha.refresh_from_db()
    beta.refresh_from_db()
    assert alpha.contacts_count == beta.contacts_count == 120


def test_deleting_records_while_bulk_tagging_them_leaves_no_orphan_link(db):
    # The bulk INSERT … SELECT does not lock the records it reads (no foreign key): the
    # deletes wait for it instead, under their lock order (tags.counters).
    from tags.integrity import check_tag_links

    tag = services.create_tag("bulk-vs-delete")
    for round_number in range(4):
        contacts = make_contacts(30, f"B{round_number}-")
        doomed = contacts[::3]

        def delete(contact):
            def run():
                time.sleep(random.uniform(0, 0.01))
                return delete_contact(Contact.objects.get(pk=contact.pk))

            return run

        def bulk(ids=tuple(c.pk for c in contacts)):
            return services.bulk_tag(CONTACTS, Contact.objects.filter(pk__in=ids), add=[tag])

        results = in_threads(bulk, *[delete(c) for c in doomed])

        assert not errors_in(results), [str(r) for r in errors_in(results)]
        assert check_tag_links().ok, check_tag_links().lines()
        assert_counters_exact()
        services.bulk_tag(CONTACTS, Contact.objects.all(), remove=[tag])
