"""Guard: every service that writes what segment criteria can see tells live segments.

Each row drives one write service against a real live segment whose criteria see the
change, and checks that the segment followed once the change committed (and that a
sync would now change nothing). A service that forgets `segments.notify.contacts_changed`
leaves the segment as it was, and its row fails.

`test_every_write_service_is_in_the_table` keeps the table complete: a new public
function in a record or tag service module fails it until it gets a row here, or a
line in NOT_SEEN saying why criteria cannot see what it writes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import pytest

from django.utils import timezone

import activities.services
import contacts.services
import deals.services
import leads.services
import tags.counters
import tags.services
from activities.models import Activity
from contacts.models import Contact
from deals.models import Deal
from segments import services as segments
from segments.tests.live_world import US, all_of, assert_exact, make_live, names, one
from tags.records import TAGGABLE_TYPES
from transfers.services import import_csv

CONTACTS = TAGGABLE_TYPES["contacts"]


def _nothing(w) -> None:
    pass


@dataclass(frozen=True)
class Write:
    service: str  # the dotted name of the service driven
    how: str  # what the row does with it
    criteria: Callable  # (w) -> criteria the live segment uses
    act: Callable  # (w) -> None: the write, inside one committed transaction
    before: set[str]
    after: set[str]
    arrange: Callable = _nothing  # (w) -> None: set up before the segment is made live

    @property
    def id(self) -> str:
        return f"{self.service.rsplit('.', 1)[-1]}-{self.how}"


def _vip(w) -> dict:
    return all_of(one("tags", "has", w.cast.tags["vip"].pk))


def _in_proposal(w) -> dict:
    return all_of(one("deal_stage", "has", "proposal"))


def _recently_active(w) -> dict:
    return all_of(one("last_activity_at", "in_last_days", 30))


def _bobs_proposal(w) -> Deal:
    return Deal.objects.get(contact=w.cast["Bob"], stage="proposal")


def _edit_bob(w) -> None:
    bob = Contact.objects.get(pk=w.cast["Bob"].pk)
    bob.country = "US"
    contacts.services.save_contact(bob)


def _move_bobs_proposal_to_dee(w) -> None:
    deal = _bobs_proposal(w)
    deal.contact = w.cast["Dee"]
    deals.services.save_deal(deal)


def _an_activity_for_cy(w) -> None:
    w.activity = Activity.objects.create(
        contact=w.cast["Cy"], subject="Call", kind="call", occurred_at=timezone.now()
    )
    activities.services.refresh_last_activity([w.cast["Cy"].pk])


def _gold_on_cy(w) -> None:
    w.gold = tags.services.create_tag("gold")
    tags.services.attach_tag(w.cast["Cy"], w.gold)


def _a_picked_segment(w) -> None:
    w.picked = segments.create_segment(name="Picked", user=w.user)
    segments.add_member(w.picked, w.cast["Bob"], w.user)


def _in_picked(w) -> dict:
    return all_of(one("segment", "in_segment", w.picked.pk))


IMPORT = b"first_name,email,country\nFay,fay@example.com,US\nGus,gus@example.com,GB\n"
IMPORT_UPDATE = b"email,country\nbob@beta.example,US\n"

# The cast (segments/tests/conftest.py): Ann (US, vip, won deal, active 10 days ago),
# Bob (GB, a deal in proposal), Cy (nothing), Dee (US, vip, active 89 days ago).
WRITES = [
    Write(
        "contacts.services.save_contact",
        "create",
        lambda w: all_of(US),
        lambda w: contacts.services.save_contact(Contact(first_name="Eve", country="US")),
        {"Ann", "Dee"},
        {"Ann", "Dee", "Eve"},
    ),
    Write(
        "contacts.services.save_contact",
        "edit",
        lambda w: all_of(US),
        _edit_bob,
        {"Ann", "Dee"},
        {"Ann", "Bob", "Dee"},
    ),
    Write(
        # Its memberships go with it (CASCADE) and no other contact's match changes: the
        # row checks that the member count drops with them.
        "contacts.services.delete_contact",
        "delete",
        lambda w: all_of(US),
        lambda w: contacts.services.delete_contact(Contact.objects.get(pk=w.cast["Ann"].pk)),
        {"Ann", "Dee"},
        {"Dee"},
    ),
    Write(
        "deals.services.save_deal",
        "create",
        _in_proposal,
        lambda w: deals.services.save_deal(
            Deal(title="Big", contact=w.cast["Cy"], stage="proposal", value=Decimal(10))
        ),
        {"Bob"},
        {"Bob", "Cy"},
    ),
    Write(
        "deals.services.save_deal",
        "move",
        _in_proposal,
        _move_bobs_proposal_to_dee,
        {"Bob"},
        {"Dee"},
    ),
    Write(
        "deals.services.delete_deal",
        "delete",
        _in_proposal,
        lambda w: deals.services.delete_deal(_bobs_proposal(w)),
        {"Bob"},
        set(),
    ),
    Write(
        "activities.services.log_activity",
        "log",
        _recently_active,
        lambda w: activities.services.log_activity(
            Activity(contact=w.cast["Cy"], subject="Call", kind="call", owner=w.user)
        ),
        {"Ann"},
        {"Ann", "Cy"},
    ),
    Write(
        "activities.services.delete_activity",
        "delete",
        _recently_active,
        lambda w: activities.services.delete_activity(w.activity),
        {"Ann", "Cy"},
        {"Ann"},
        arrange=_an_activity_for_cy,
    ),
    Write(
        "tags.services.attach_tag",
        "attach",
        _vip,
        lambda w: tags.services.attach_tag(w.cast["Bob"], w.cast.tags["vip"]),
        {"Ann", "Dee"},
        {"Ann", "Bob", "Dee"},
    ),
    Write(
        "tags.services.detach_tag",
        "detach",
        _vip,
        lambda w: tags.services.detach_tag(w.cast["Ann"], w.cast.tags["vip"]),
        {"Ann", "Dee"},
        {"Dee"},
    ),
    Write(
        "tags.services.attach_tag_by_ids",
        "attach",
        _vip,
        lambda w: tags.services.attach_tag_by_ids(
            CONTACTS, w.cast["Bob"].pk, w.cast.tags["vip"].pk
        ),
        {"Ann", "Dee"},
        {"Ann", "Bob", "Dee"},
    ),
    Write(
        "tags.services.detach_tag_by_ids",
        "detach",
        _vip,
        lambda w: tags.services.detach_tag_by_ids(
            CONTACTS, w.cast["Ann"].pk, w.cast.tags["vip"].pk
        ),
        {"Ann", "Dee"},
        {"Dee"},
    ),
    Write(
        "tags.services.bulk_tag",
        "add",
        _vip,
        lambda w: tags.services.bulk_tag(CONTACTS, Contact.objects.all(), add=[w.cast.tags["vip"]]),
        {"Ann", "Dee"},
        {"Ann", "Bob", "Cy", "Dee"},
    ),
    Write(
        "tags.services.bulk_tag",
        "remove",
        _vip,
        lambda w: tags.services.bulk_tag(
            CONTACTS, Contact.objects.all(), remove=[w.cast.tags["vip"]]
        ),
        {"Ann", "Dee"},
        set(),
    ),
    Write(
        "tags.services.merge_tags",
        "merge",
        _vip,
        lambda w: tags.services.merge_tags(w.gold, w.cast.tags["vip"]),
        {"Ann", "Dee"},
        {"Ann", "Cy", "Dee"},
        arrange=_gold_on_cy,
    ),
    Write(
        # Criteria name tags, and a tag they name cannot be deleted (TagInUse): deleting
        # any other tag changes no contact's match, so there is nothing to follow.
        "tags.services.delete_tag",
        "unnamed",
        _vip,
        lambda w: tags.services.delete_tag(w.gold),
        {"Ann", "Dee"},
        {"Ann", "Dee"},
        arrange=_gold_on_cy,
    ),
    Write(
        "segments.services.add_member",
        "add",
        _in_picked,
        lambda w: segments.add_member(w.picked, w.cast["Cy"], w.user),
        {"Bob"},
        {"Bob", "Cy"},
        arrange=_a_picked_segment,
    ),
    Write(
        "segments.services.remove_member",
        "remove",
        _in_picked,
        lambda w: segments.remove_member(w.picked, w.cast["Bob"], w.user),
        {"Bob"},
        set(),
        arrange=_a_picked_segment,
    ),
    Write(
        "transfers.services.import_csv",
        "create",
        lambda w: all_of(US),
        lambda w: import_csv("contacts", IMPORT, user=w.user, dry_run=False),
        {"Ann", "Dee"},
        {"Ann", "Dee", "Fay"},
    ),
    Write(
        "transfers.services.import_csv",
        "update",
        lambda w: all_of(US),
        lambda w: import_csv(
            "contacts", IMPORT_UPDATE, user=w.user, on_duplicate="update", dry_run=False
        ),
        {"Ann", "Dee"},
        {"Ann", "Bob", "Dee"},
    ),
]

# Public functions of the record and tag service modules that need no row, and why.
NOT_SEEN = {
    "leads.services.delete_lead": "segment criteria test nothing of leads (criteria/registry.py)",
    "activities.services.refresh_last_activity": "a step of log_activity and delete_activity, "
    "which notify; demo's bulk load calls it too, before any segment exists",
    "tags.services.create_tag": "a new tag is on no record",
    "tags.services.update_tag": "criteria name a tag by id; its name and colour do not match",
    "tags.services.find_tag_by_name": "reads",
    "tags.services.record_tags": "reads",
    "tags.services.why_tag_must_stay": "reads",
    "tags.services.record_bulk_tagging": "writes an audit entry",
    "tags.counters.bump": "a step of the tag services that write links (counters)",
    "tags.counters.recount_tags": "repairs the usage counters only",
    "tags.counters.lock_tags_on": "a step of the delete services (locks)",
    "tags.counters.forget_records": "a step of the delete services (counters)",
}

GUARDED = [
    contacts.services,
    leads.services,
    deals.services,
    activities.services,
    tags.services,
    tags.counters,
]


def test_every_write_service_is_in_the_table():
    public = {
        f"{module.__name__}.{name}"
        for module in GUARDED
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__ and not name.startswith("_")
    }
    driven = {write.service for write in WRITES}
    assert public - driven - set(NOT_SEEN) == set(), "add a row to WRITES, or a reason to NOT_SEEN"
    assert not driven & set(NOT_SEEN)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.mark.parametrize("write", WRITES, ids=lambda write: write.id)
def test_a_live_segment_follows_every_write_service(write, cast, committed, admin_user):
    # given a live segment whose criteria see what the service writes
    tags.counters.recount_tags()  # the cast's links were made without the services' counters
    w = SimpleNamespace(cast=cast, user=admin_user)
    # Committed too: a change left pending would stay on the connection for later tests.
    with committed(execute=True):
        write.arrange(w)
    segment = make_live(committed, "Watching", write.criteria(w))
    assert names(segment) == write.before
    # when the service writes, and its transaction commits
    with committed(execute=True):
        write.act(w)
    # then the segment has followed, and a sync would change nothing
    assert names(segment) == write.after
    assert_exact(segment)
