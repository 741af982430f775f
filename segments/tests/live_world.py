"""Helpers of the live segment tests: making live segments and reading their membership.

Tests run inside a transaction that never commits, so the work that follows a commit
(the live update, a sync queued by a segment made live) runs when a test says so:
`committed(...)` wraps pytest-django's django_capture_on_commit_callbacks, which
runs the callbacks as a commit would. Without a broker (CELERY_TASK_ALWAYS_EAGER)
the tasks they queue run inline.
"""

from __future__ import annotations

from contacts.models import Contact
from segments import services
from segments.models import MembershipChange, Segment, SegmentMember
from segments.sync import sync_segment


def one(field: str, operator: str, value=None) -> dict:
    return {"field": field, "operator": operator, "value": value}


def all_of(*conditions) -> dict:
    return {"match": "all", "conditions": list(conditions)}


def any_of(*conditions) -> dict:
    return {"match": "any", "conditions": list(conditions)}


US = one("country", "equals", "US")


def make_live(committed, name: str, criteria: dict, user=None) -> Segment:
    """A live segment, created and then filled by the sync its creation queues."""
    with committed(execute=True):
        segment = services.create_segment(name=name, criteria=criteria, user=user, mode="live")
    segment.refresh_from_db()
    return segment


def members(segment: Segment) -> dict[str, str]:
    """First name -> how the contact was added (rule or manual)."""
    rows = SegmentMember.objects.filter(segment=segment)
    return dict(rows.values_list("contact__first_name", "added_how"))


def names(segment: Segment) -> set[str]:
    return set(members(segment))


def changes(segment: Segment, **filters) -> list[tuple[str, str, str]]:
    """(first name, joined/left, reason), oldest first."""
    rows = MembershipChange.objects.filter(segment=segment, **filters).order_by("changed_at", "pk")
    return list(rows.values_list("contact__first_name", "change", "reason"))


def assert_exact(segment: Segment) -> None:
    """member_count is the number of rows, and a sync now would change nothing."""
    segment.refresh_from_db()
    assert segment.member_count == SegmentMember.objects.filter(segment=segment).count()
    run = sync_segment(segment, None)
    assert (run.outcome, run.added, run.removed) == ("succeeded", 0, 0), run.error


def contact(first_name: str, **fields) -> Contact:
    return Contact.objects.create(first_name=first_name, **fields)
