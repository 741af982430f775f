"""Logging activities, and keeping each contact's last_activity_at current with them.

Segment criteria can test the last activity, so live segments re-evaluate the
contacts an activity touched (segments.live), after the commit.
"""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Max, OuterRef, Subquery

from activities.models import Activity
from contacts.models import Contact
from segments.notify import contacts_changed


def refresh_last_activity(contact_ids: Iterable[int] | None = None) -> int:
    """Set last_activity_at to the latest activity of each contact, in one UPDATE.

    With no ids, every contact is refreshed (after a bulk load).
    """
    latest = (
        Activity.objects.filter(contact=OuterRef("pk"))
        .order_by()
        .values("contact")
        .annotate(latest=Max("occurred_at"))
        .values("latest")
    )
    contacts = (
        Contact.objects.all()
        if contact_ids is None
        else Contact.objects.filter(pk__in=list(contact_ids))
    )
    return contacts.update(last_activity_at=Subquery(latest))


@transaction.atomic
def log_activity(activity: Activity) -> Activity:
    """Save a new or edited activity and refresh the contacts it touches."""
    previous_contact_id = (
        Activity.objects.filter(pk=activity.pk).values_list("contact_id", flat=True).first()
        if activity.pk
        else None
    )
    activity.save()
    touched = {activity.contact_id, previous_contact_id} - {None}
    refresh_last_activity(touched)
    contacts_changed(touched)
    return activity


@transaction.atomic
def delete_activity(activity: Activity) -> None:
    contact_id = activity.contact_id
    activity.delete()
    if contact_id is not None:
        refresh_last_activity([contact_id])
        contacts_changed([contact_id])
