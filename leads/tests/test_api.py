"""The leads API under /api/crm/leads, as an integrator with a Bearer token sees it."""

import pytest

from contacts.models import Contact
from leads.models import Lead

URL = "/api/crm/leads"


@pytest.fixture
def lead(contact, admin_user) -> Lead:
    return Lead.objects.create(
        name="Analytical Engines expansion",
        email="ada@analytical.example",
        company="Analytical Engines",
        status="contacted",
        score=40,
        owner=admin_user,
        contact=contact,
    )


def names(response) -> list[str]:
    return [row["name"] for row in response.json()["results"]]


# --- list, retrieve ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [URL, URL + "/"])
def test_list_answers_with_and_without_trailing_slash(api, lead, path):
    response = api.get(path)

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == 1
    assert [row["id"] for row in body["results"]] == [lead.pk]


@pytest.mark.parametrize("slash", ["", "/"])
def test_retrieve_shows_related_records_by_id(api, lead, contact, admin_user, slash):
    response = api.get(f"{URL}/{lead.pk}{slash}")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Analytical Engines expansion"
    assert body["status"] == "contacted"
    assert body["score"] == 40
    assert body["contact"] == contact.pk
    assert body["owner"] == admin_user.pk


def test_unknown_id_is_404_with_detail(api, db):
    response = api.get(f"{URL}/999999/")

    assert response.status_code == 404
    assert "detail" in response.json()


# --- create, update, delete -------------------------------------------------------------------


def test_create_links_a_contact_and_defaults_owner_to_the_tokens_user(api_client_for, rep, contact):
    response = api_client_for(rep).post(
        URL,
        {"name": "Babbage referral", "contact": contact.pk, "source": "referral"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner"] == rep.pk
    assert body["contact"] == contact.pk
    assert body["status"] == "new"
    lead = Lead.objects.get(pk=body["id"])
    assert (lead.owner, lead.contact) == (rep, contact)


def test_create_with_an_explicit_owner(api, manager):
    response = api.post(URL + "/", {"name": "Cold lead", "owner": manager.pk}, format="json")

    assert response.status_code == 201, response.json()
    assert Lead.objects.get(pk=response.json()["id"]).owner == manager


def test_patch_changes_only_the_given_fields(api, lead):
    response = api.patch(f"{URL}/{lead.pk}", {"status": "qualified"}, format="json")

    assert response.status_code == 200, response.json()
    lead.refresh_from_db()
    assert lead.status == "qualified"
    assert lead.score == 40
    assert lead.contact_id is not None


def test_patch_can_unlink_the_contact(api, lead):
    response = api.patch(f"{URL}/{lead.pk}", {"contact": None}, format="json")

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.contact is None


def test_put_replaces_the_record(api, lead, manager):
    other = Contact.objects.create(first_name="Charles", email="charles@analytical.example")

    response = api.put(
        f"{URL}/{lead.pk}",
        {
            "name": "Renamed",
            "status": "converted",
            "score": 100,
            "contact": other.pk,
            "owner": manager.pk,
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    lead.refresh_from_db()
    assert (lead.name, lead.status, lead.score) == ("Renamed", "converted", 100)
    assert (lead.contact, lead.owner) == (other, manager)


def test_put_without_the_required_name_is_400(api, lead):
    response = api.put(f"{URL}/{lead.pk}", {"status": "new"}, format="json")

    assert response.status_code == 400
    assert "name" in response.json()


def test_delete_removes_the_lead_and_keeps_its_contact(api, lead, contact):
    response = api.delete(f"{URL}/{lead.pk}/")

    assert response.status_code == 204
    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_sales_rep_may_not_delete_a_lead(api_client_for, rep, lead):
    assert api_client_for(rep).delete(f"{URL}/{lead.pk}").status_code == 403
    assert Lead.objects.filter(pk=lead.pk).exists()


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "new"}, "name"),
        ({"name": "Bad", "score": 101}, "score"),
        ({"name": "Bad", "score": -1}, "score"),
        ({"name": "Bad", "email": "nope"}, "email"),
        ({"name": "Bad", "status": "hot"}, "status"),
        ({"name": "Bad", "owner": 999999}, "owner"),
        ({"name": "Bad", "contact": 999999}, "contact"),
    ],
)
def test_bad_input_is_400_per_field_and_saves_nothing(api, lead, body, field):
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert isinstance(response.json()[field], list)
    assert Lead.objects.count() == 1


# --- pagination, filters, ordering ------------------------------------------------------------


def test_page_size_is_capped_at_200(api, db):
    Lead.objects.bulk_create(Lead(name=f"Lead {i}") for i in range(201))

    body = api.get(URL, {"page_size": 500}).json()

    assert len(body["results"]) == 200
    assert body["count"] == 201
    assert api.get(body["next"]).json()["results"][0]["name"] == "Lead 0"


@pytest.fixture
def three_leads(db, admin_user, manager, contact):
    Lead.objects.create(
        name="Alpha",
        email="a@alpha.example",
        company="Alpha Ltd",
        status="new",
        score=10,
        owner=admin_user,
        contact=contact,
    )
    Lead.objects.create(
        name="Bravo",
        email="b@bravo.example",
        company="Bravo GmbH",
        status="qualified",
        score=30,
        owner=manager,
    )
    Lead.objects.create(
        name="Charlie", email="c@charlie.example", company="Alpha Partners", status="new", score=20
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "new"}, {"Alpha", "Charlie"}),
        ({"status": "qualified"}, {"Bravo"}),
        ({"search": "alpha"}, {"Alpha", "Charlie"}),
        ({"search": "BRAVO.example"}, {"Bravo"}),
        ({"search": "charlie"}, {"Charlie"}),
        ({"search": "alpha partners"}, {"Charlie"}),
    ],
)
def test_filters_and_search(api, three_leads, params, expected):
    response = api.get(URL, params)

    assert response.status_code == 200
    assert set(names(response)) == expected


def test_filter_by_owner_and_contact(api, three_leads, manager, contact):
    assert names(api.get(URL, {"owner": manager.pk})) == ["Bravo"]
    assert names(api.get(URL, {"contact": contact.pk})) == ["Alpha"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("name", ["Alpha", "Bravo", "Charlie"]),
        ("-name", ["Charlie", "Bravo", "Alpha"]),
        ("score", ["Alpha", "Charlie", "Bravo"]),
        ("-score", ["Bravo", "Charlie", "Alpha"]),
    ],
)
def test_ordering(api, three_leads, ordering, expected):
    assert names(api.get(URL, {"ordering": ordering})) == expected


@pytest.mark.parametrize("record_type", ["leads", "deals"])
@pytest.mark.parametrize("value", ["9223372036854775808", "0", "1.5"])
def test_a_contact_filter_that_is_no_id_is_a_400_naming_the_filter(api, db, record_type, value):
    # Found by the API fuzzing: a number past any id was a 500 on SQLite (OverflowError).
    response = api.get(f"/api/crm/{record_type}", {"contact": value})

    assert response.status_code == 400
    assert list(response.json()) == ["contact"]
