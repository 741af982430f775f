"""Fixtures for the audit log's tests: a tag, a segment, and a way to see what got recorded."""

import pytest

from django.db.models import Max

from audit.models import AuditEntry
from segments import services as segment_services
from tags import services as tag_services

COUNTRY_GB = {
    "match": "all",
    "conditions": [{"field": "country", "operator": "equals", "value": "GB"}],
}


@pytest.fixture
def recorded(db):
    """`recorded(fn)`: call `fn` and return the audit entries it wrote, oldest first.

    Fixtures write entries of their own (a token, a tag…); only `fn`'s count here.
    """

    def run(fn) -> list[AuditEntry]:
        before = AuditEntry.objects.aggregate(last=Max("id"))["last"] or 0
        fn()
        return list(AuditEntry.objects.filter(id__gt=before).order_by("id"))

    return run


@pytest.fixture
def tag(db, manager):
    return tag_services.create_tag("Enterprise", color="#2563eb", user=manager)


@pytest.fixture
def segment(db, manager, contact):
    """A segment of contacts in Great Britain (the root conftest's `contact` is one)."""
    return segment_services.create_segment(name="UK contacts", criteria=COUNTRY_GB, user=manager)
