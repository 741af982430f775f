"""Fixtures for segments' tests: a small named cast of contacts with tags, deals, activity."""

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from django.utils import timezone

from contacts.models import Contact
from deals.models import Deal
from segments import services, sync
from segments.criteria import matching_contacts, validate_criteria
from segments.models import Segment
from tags.models import ContactTag, Tag


@dataclass
class Cast:
    contacts: dict[str, Contact] = field(default_factory=dict)
    tags: dict[str, Tag] = field(default_factory=dict)
    users: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> Contact:
        return self.contacts[name]

    @property
    def everyone(self) -> set[str]:
        return set(self.contacts)


def make_tag(name: str, color: str = "#2563eb") -> Tag:
    return Tag.objects.create(name=name, slug=name, color=color)


def make_contact(first_name: str, *, tags=(), deals=(), created_at=None, **fields) -> Contact:
    contact = Contact.objects.create(first_name=first_name, **fields)
    if created_at is not None:
        Contact.objects.filter(pk=contact.pk).update(created_at=created_at)
    for tag in tags:
        ContactTag.objects.create(record=contact, tag=tag)
    for stage, value in deals:
        Deal.objects.create(
            title=f"{first_name} {stage}", contact=contact, stage=stage, value=value
        )
    contact.refresh_from_db()
    return contact


NOW = timezone.now


@pytest.fixture
def cast(db, rep, manager) -> Cast:
    """Four contacts that between them exercise every operator, empty values included."""
    now = NOW()
    enterprise, vip, churned = make_tag("enterprise"), make_tag("vip"), make_tag("churned")
    world = Cast(
        tags={"enterprise": enterprise, "vip": vip, "churned": churned},
        users={"rep": rep, "manager": manager},
    )
    world.contacts["Ann"] = make_contact(
        "Ann",
        last_name="Archer",
        email="ann@acme.example",
        phone="+1 555 0100",
        company="Acme",
        job_title="CEO",
        city="Boston",
        country="US",
        lifecycle_stage="lead",
        lead_score=80,
        source="website",
        owner=rep,
        last_activity_at=now - timedelta(days=10),
        created_at=datetime(2026, 1, 15, 12, 0, tzinfo=UTC),
        tags=[enterprise, vip],
        deals=[("won", Decimal("5000"))],
    )
    world.contacts["Bob"] = make_contact(
        "Bob",
        last_name="Baker",
        email="bob@beta.example",
        phone="020 7946 0000",
        company="Beta Ltd",
        job_title="Buyer",
        city="London",
        country="GB",
        lifecycle_stage="customer",
        lead_score=40,
        source="referral",
        owner=manager,
        last_activity_at=now - timedelta(days=100),
        created_at=datetime(2026, 2, 1, 9, 0, tzinfo=UTC),
        tags=[enterprise],
        deals=[("proposal", Decimal("1000")), ("lost", Decimal("200"))],
    )
    # Cy has every optional field empty, no tags, no deals, no activity, no owner.
    world.contacts["Cy"] = make_contact(
        "Cy",
        lifecycle_stage="lead",
        lead_score=75,
        created_at=datetime(2026, 3, 1, 2, 0, tzinfo=UTC),
    )
    world.contacts["Dee"] = make_contact(
        "Dee",
        last_name="Dunn",
        email="dee@acme.example",
        company="ACME corp",
        job_title="CTO",
        city="boston",
        country="US",
        lifecycle_stage="subscriber",
        lead_score=0,
        source="event",
        owner=rep,
        last_activity_at=now - timedelta(days=89),
        created_at=datetime(2026, 3, 20, 23, 30, tzinfo=UTC),
        tags=[vip],
        deals=[
            ("won", Decimal("100")),
            ("won", Decimal("250.50")),
            ("qualification", Decimal("10")),
        ],
    )
    return world


def names(contacts) -> set[str]:
    return {c.first_name for c in contacts}


def matches(criteria: dict, segment: Segment | None = None) -> set[str]:
    """First names of the contacts `criteria` select, compiled exactly as a sync does."""
    valid = validate_criteria(criteria, segment_id=segment.pk if segment else None)
    return names(matching_contacts(valid))


def condition(field: str, operator: str, value=None) -> dict:
    return {"match": "all", "conditions": [{"field": field, "operator": operator, "value": value}]}


@pytest.fixture
def make_segment(db):
    def make(name="Test segment", criteria=None, user=None, **kwargs) -> Segment:
        return services.create_segment(name=name, criteria=criteria, user=user, **kwargs)

    return make


@pytest.fixture
def enterprise_people(db, admin_user, rep) -> dict:
    """The guide's example data: three enterprise contacts in the US, one enterprise contact
    in GB, one untagged contact in the US; plus the `enterprise` tag itself."""
    enterprise = make_tag("enterprise", "#2563eb")
    return {
        "enterprise": enterprise,
        "ann": make_contact(
            "Ann",
            last_name="Archer",
            email="ann@acme.example",
            country="US",
            company="Acme",
            owner=rep,
            tags=[enterprise],
        ),
        "ben": make_contact(
            "Ben",
            last_name="Baker",
            email="ben@acme.example",
            country="US",
            owner=admin_user,
            tags=[enterprise],
        ),
        "cat": make_contact(
            "Cat", last_name="Cole", email="cat@corp.example", country="US", tags=[enterprise]
        ),
        "dan": make_contact(
            "Dan", last_name="Dale", email="dan@uk.example", country="GB", tags=[enterprise]
        ),
        "eve": make_contact("Eve", last_name="Evans", email="eve@us.example", country="US"),
    }


@pytest.fixture
def slow_sync(monkeypatch):
    """Hold the lock long enough that a second sync surely arrives while the first runs."""
    replace = sync._replace_membership

    def slowly(*args, **kwargs):
        time.sleep(0.5)
        return replace(*args, **kwargs)

    monkeypatch.setattr(sync, "_replace_membership", slowly)
