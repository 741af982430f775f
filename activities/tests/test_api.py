"""The activities API under /api/crm/activities, and how it keeps contacts' last_activity_at."""

from datetime import UTC, datetime

import pytest

from django.utils.dateparse import parse_datetime

from activities.models import Activity
from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead

URL = "/api/crm/activities"
JAN_1 = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)
JAN_2 = datetime(2025, 1, 2, 9, 0, tzinfo=UTC)
JAN_3 = datetime(2025, 1, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def other_contact(db) -> Contact:
    return Contact.objects.create(first_name="Charles", email="charles@analytical.example")


@pytest.fixture
def deal(contact) -> Deal:
    return Deal.objects.create(title="Difference engine", contact=contact)


@pytest.fixture
def lead(contact) -> Lead:
    return Lead.objects.create(name="Engine lead", contact=contact)


@pytest.fixture
def activity(api, contact) -> Activity:
    """Logged through the API, so the contact's last_activity_at is current."""
    response = api.post(
        URL,
        {
            "kind": "call",
            "subject": "Intro call",
            "occurred_at": JAN_2.isoformat(),
            "contact": contact.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return Activity.objects.get(pk=response.json()["id"])


def last_activity_at(contact: Contact) -> datetime | None:
    contact.refresh_from_db()
    return contact.last_activity_at


# --- list, retrieve ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [URL, URL + "/"])
def test_list_answers_with_and_without_trailing_slash(api, activity, path):
    response = api.get(path)

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert [row["id"] for row in body["results"]] == [activity.pk]


@pytest.mark.parametrize("slash", ["", "/"])
def test_retrieve_shows_related_records_by_id(api, activity, contact, admin_user, slash):
    response = api.get(f"{URL}/{activity.pk}{slash}")

    assert response.status_code == 200
    body = response.json()
    assert body["kind"] == "call"
    assert body["subject"] == "Intro call"
    assert parse_datetime(body["occurred_at"]) == JAN_2
    assert body["contact"] == contact.pk
    assert body["owner"] == admin_user.pk
    assert body["lead"] is None
    assert body["deal"] is None


def test_unknown_id_is_404_with_detail(api, db):
    response = api.get(f"{URL}/999999")

    assert response.status_code == 404
    assert "detail" in response.json()


# --- create, update, delete -------------------------------------------------------------------


def test_create_links_lead_and_deal_and_defaults_owner(api_client_for, rep, contact, lead, deal):
    response = api_client_for(rep).post(
        URL,
        {
            "kind": "meeting",
            "subject": "Demo",
            "contact": contact.pk,
            "lead": lead.pk,
            "deal": deal.pk,
            "occurred_at": "2025-01-01T09:00:00Z",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["contact"], body["lead"], body["deal"], body["owner"]) == (
        contact.pk,
        lead.pk,
        deal.pk,
        rep.pk,
    )
    saved = Activity.objects.get(pk=body["id"])
    assert (saved.contact, saved.lead, saved.deal, saved.owner) == (contact, lead, deal, rep)


def test_create_with_an_explicit_owner(api, contact, manager):
    response = api.post(
        URL + "/", {"subject": "Note", "contact": contact.pk, "owner": manager.pk}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["kind"] == "note"
    assert Activity.objects.get(pk=response.json()["id"]).owner == manager


def test_patch_changes_only_the_given_fields(api, activity):
    response = api.patch(f"{URL}/{activity.pk}", {"notes": "Went well"}, format="json")

    assert response.status_code == 200, response.json()
    activity.refresh_from_db()
    assert (activity.notes, activity.subject, activity.kind) == ("Went well", "Intro call", "call")


def test_put_replaces_the_record(api, activity, contact, deal, manager):
    response = api.put(
        f"{URL}/{activity.pk}",
        {
            "kind": "email",
            "subject": "Follow-up",
            "notes": "Sent",
            "contact": contact.pk,
            "deal": deal.pk,
            "owner": manager.pk,
            "occurred_at": JAN_3.isoformat(),
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    activity.refresh_from_db()
    assert (activity.kind, activity.subject, activity.deal, activity.owner) == (
        "email",
        "Follow-up",
        deal,
        manager,
    )
    assert activity.occurred_at == JAN_3


def test_delete_removes_the_activity(api, activity):
    response = api.delete(f"{URL}/{activity.pk}/")

    assert response.status_code == 204
    assert not Activity.objects.filter(pk=activity.pk).exists()


def test_sales_rep_may_delete_an_activity_they_logged(api_client_for, rep, activity):
    activity.owner = rep  # others': cohort/tests/test_record_ownership.py
    activity.save()
    response = api_client_for(rep).delete(f"{URL}/{activity.pk}")

    assert response.status_code == 204
    assert not Activity.objects.filter(pk=activity.pk).exists()


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "No contact"}, "contact"),
        ({"contact": "{contact}"}, "subject"),
        ({"subject": "Bad", "contact": 999999}, "contact"),
        ({"subject": "Bad", "contact": "{contact}", "kind": "fax"}, "kind"),
        ({"subject": "Bad", "contact": "{contact}", "owner": 999999}, "owner"),
        ({"subject": "Bad", "contact": "{contact}", "deal": 999999}, "deal"),
        ({"subject": "Bad", "contact": "{contact}", "occurred_at": "yesterday"}, "occurred_at"),
        ({"subject": "Bad", "contact": "{other}", "deal": "{deal}"}, "deal"),
        ({"subject": "Bad", "contact": "{other}", "lead": "{lead}"}, "lead"),
    ],
)
def test_bad_input_is_400_per_field_and_saves_nothing(
    api, contact, other_contact, deal, lead, body, field
):
    # given
    ids = {
        "{contact}": contact.pk,
        "{other}": other_contact.pk,
        "{deal}": deal.pk,
        "{lead}": lead.pk,
    }
    body = {key: ids.get(value, value) for key, value in body.items()}

    # when
    response = api.post(URL, body, format="json")

    # then
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert isinstance(response.json()[field], list)
    assert Activity.objects.count() == 0
    assert last_activity_at(contact) is None
    assert last_activity_at(other_contact) is None


def test_moving_to_another_contact_while_keeping_its_deal_is_400(api, contact, other_contact, deal):
    # given an activity on the deal of `contact`
    created = api.post(
        URL, {"subject": "On the deal", "contact": contact.pk, "deal": deal.pk}, format="json"
    )
    pk = created.json()["id"]

    # when it is moved to a contact the deal does not belong to
    response = api.patch(f"{URL}/{pk}", {"contact": other_contact.pk}, format="json")

    # then
    assert response.status_code == 400
    assert "deal" in response.json()
    assert Activity.objects.get(pk=pk).contact == contact


# --- contact.last_activity_at -----------------------------------------------------------------


def test_creating_an_activity_sets_last_activity_at(api, activity, contact):
    assert last_activity_at(contact) == JAN_2
    assert (
        parse_datetime(api.get(f"/api/crm/contacts/{contact.pk}").json()["last_activity_at"])
        == JAN_2
    )


def test_last_activity_at_is_the_latest_occurred_at(api, activity, contact):
    # when an older activity is logged
    api.post(
        URL,
        {"subject": "Old", "contact": contact.pk, "occurred_at": JAN_1.isoformat()},
        format="json",
    )
    # then the latest one still counts
    assert last_activity_at(contact) == JAN_2

    # when a newer one is logged
    api.post(
        URL,
        {"subject": "New", "contact": contact.pk, "occurred_at": JAN_3.isoformat()},
        format="json",
    )
    # then
    assert last_activity_at(contact) == JAN_3


def test_moving_occurred_at_updates_last_activity_at(api, activity, contact):
    api.patch(f"{URL}/{activity.pk}", {"occurred_at": JAN_1.isoformat()}, format="json")

    assert last_activity_at(contact) == JAN_1


def test_deleting_activities_falls_back_to_the_previous_then_none(api, activity, contact):
    # given two activities
    older = api.post(
        URL,
        {"subject": "Old", "contact": contact.pk, "occurred_at": JAN_1.isoformat()},
        format="json",
    ).json()["id"]

    # when the latest is deleted, the older one counts
    api.delete(f"{URL}/{activity.pk}")
    assert last_activity_at(contact) == JAN_1

    # when the last one is deleted, there is none
    api.delete(f"{URL}/{older}")
    assert last_activity_at(contact) is None


def test_moving_an_activity_to_another_contact_refreshes_both(
    api, activity, contact, other_contact
):
    # when
    response = api.patch(f"{URL}/{activity.pk}", {"contact": other_contact.pk}, format="json")

    # then
    assert response.status_code == 200, response.json()
    assert last_activity_at(contact) is None
    assert last_activity_at(other_contact) == JAN_2


def test_a_rejected_update_leaves_last_activity_at_alone(api, activity, contact):
    response = api.patch(
        f"{URL}/{activity.pk}", {"occurred_at": JAN_3.isoformat(), "kind": "fax"}, format="json"
    )

    assert response.status_code == 400
    assert last_activity_at(contact) == JAN_2
    activity.refresh_from_db()
    assert activity.occurred_at == JAN_2


# --- pagination, filters, ordering ------------------------------------------------------------


def test_page_size_is_capped_at_200(api, contact):
    Activity.objects.bulk_create(
        Activity(subject=f"Bulk {i}", contact=contact, occurred_at=JAN_1) for i in range(201)
    )

    body = api.get(URL, {"page_size": 500}).json()

    assert len(body["results"]) == 200
    assert body["count"] == 201
    assert body["next"] is not None


@pytest.fixture
def three_activities(contact, other_contact, deal, manager):
    Activity.objects.create(kind="call", subject="A", contact=contact, deal=deal, occurred_at=JAN_2)
    Activity.objects.create(
        kind="email", subject="B", contact=contact, owner=manager, occurred_at=JAN_1
    )
    Activity.objects.create(kind="call", subject="C", contact=other_contact, occurred_at=JAN_3)


def subjects(response) -> list[str]:
    return [row["subject"] for row in response.json()["results"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["C", "A", "B"]),
        ({"ordering": "occurred_at"}, ["B", "A", "C"]),
        ({"ordering": "-occurred_at"}, ["C", "A", "B"]),
        ({"kind": "call"}, ["C", "A"]),
        ({"occurred_after": "2025-01-02T00:00:00Z"}, ["C", "A"]),
        ({"occurred_before": "2025-01-02T00:00:00Z"}, ["B"]),
    ],
)
def test_filters_and_ordering(api, three_activities, params, expected):
    response = api.get(URL, params)

    assert response.status_code == 200
    assert subjects(response) == expected


def test_filter_by_contact_deal_and_owner(api, three_activities, contact, deal, manager):
    assert subjects(api.get(URL, {"contact": contact.pk})) == ["A", "B"]
    assert subjects(api.get(URL, {"deal": deal.pk})) == ["A"]
    assert subjects(api.get(URL, {"owner": manager.pk})) == ["B"]
