"""Saving and deleting contacts, with what must happen alongside.

A contact's fields are what segment criteria test, so a contact created or edited
makes live segments re-evaluate it (segments.notify), after the commit. Its deletion
takes its tag links with it (CASCADE) and its segment rows through the port
(segments.notify.forget_contacts), and changes no other contact's match, so it
notifies nobody; the counters that mention it drop instead.

The lock order of deleting a record — the contacts, leads and deals services all
follow it, and every writer of links and memberships takes the same order:

1. the tags on the record, by id (tags.counters.lock_tags_on, which first waits for
   bulk tagging in progress);
2. for a contact, its segments, by id (segments.notify.lock_segments_of);
3. the record's row;
4. with all of them held, the counters drop: segment member counts
   (segments.notify.forget_contacts), then tag usage (tags.counters.forget_records,
   which also removes the record's tag links);
5. the record is deleted.

Tags and segments come before the record because a new membership's foreign key locks
the record last (at commit), and a new tag link locks the record's row (attach) or
holds off deletes (bulk): so no link or membership can appear or vanish between the
counting and the delete.
"""

from django.db import transaction

from contacts.models import Contact

# The two ports of the layers above that a contact's writes call (README: layers): live
# segments re-evaluate changed contacts, and a delete keeps member and tag counts exact.
from segments.notify import contacts_changed, forget_contacts, lock_segments_of
from tags.counters import forget_records, lock_tags_on


@transaction.atomic
def save_contact(contact: Contact) -> Contact:
    """Save a new or edited contact; live segments re-evaluate it after the commit."""
    contact.save()
    contacts_changed([contact.pk])
    return contact


@transaction.atomic
def delete_contact(contact: Contact) -> None:
    """Delete the contact; the tag usage and segment member counts drop first, in the lock
    order of this module's docstring."""
    contacts = Contact.objects.filter(pk=contact.pk)
    lock_tags_on(Contact, contacts)
    lock_segments_of(contacts)
    list(contacts.select_for_update().values_list("pk", flat=True))
    forget_contacts(contacts)
    forget_records(Contact, contacts)
    contact.delete()
