"""The contacts API under /api/crm/contacts, as an integrator with a Bearer token sees it."""

import pytest

from activities.models import Activity
from contacts.api.serializers import ContactSerializer
from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead

URL = "/api/crm/contacts"


def row_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in (Contact, Lead, Deal, Activity)}


def names(response) -> list[str]:
    return [row["last_name"] for row in response.json()["results"]]


# --- list, retrieve ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [URL, URL + "/"])
def test_list_answers_with_and_without_trailing_slash(api, contact, path):
    response = api.get(path)

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] == 1
    assert body["next"] is None
    assert body["previous"] is None
    assert [row["id"] for row in body["results"]] == [contact.pk]


@pytest.mark.parametrize("slash", ["", "/"])
def test_retrieve_answers_with_and_without_trailing_slash(api, contact, admin_user, slash):
    response = api.get(f"{URL}/{contact.pk}{slash}")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == contact.pk
    assert body["email"] == "ada@analytical.example"
    assert body["country"] == "GB"
    assert body["country_name"] == "United Kingdom"
    assert body["owner"] == admin_user.pk
    assert body["last_activity_at"] is None


def test_unknown_id_is_404_with_detail(api, db):
    response = api.get(f"{URL}/999999")

    assert response.status_code == 404
    assert "detail" in response.json()


# --- create, update, delete -------------------------------------------------------------------


def test_create_defaults_owner_to_the_tokens_user(api_client_for, manager):
    # given a sales manager's token
    client = api_client_for(manager)

    # when
    response = client.post(
        URL,
        {"first_name": "Grace", "last_name": "Hopper", "email": "grace@navy.example"},
        format="json",
    )

    # then
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner"] == manager.pk
    assert body["lifecycle_stage"] == "subscriber"
    assert body["lead_score"] == 0
    saved = Contact.objects.get(pk=body["id"])
    assert saved.email == "grace@navy.example"
    assert saved.owner == manager


def test_create_with_an_explicit_owner_and_trailing_slash(api, manager):
    response = api.post(
        URL + "/",
        {"first_name": "Grace", "owner": manager.pk, "country": "US", "lead_score": 100},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["owner"] == manager.pk
    assert response.json()["country_name"] == "United States of America"
    assert Contact.objects.get(pk=response.json()["id"]).owner == manager


def test_create_with_null_owner_leaves_it_unowned(api, db):
    response = api.post(URL, {"first_name": "Nobody's", "owner": None}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["owner"] is None


def test_patch_changes_only_the_given_fields(api, contact):
    response = api.patch(f"{URL}/{contact.pk}", {"lifecycle_stage": "customer"}, format="json")

    assert response.status_code == 200, response.json()
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "customer"
    assert contact.email == "ada@analytical.example"
    assert contact.first_name == "Ada"


def test_put_replaces_the_record(api, contact, manager):
    body = {
        "first_name": "Augusta",
        "last_name": "King",
        "email": "augusta@analytical.example",
        "company": "",
        "country": "FR",
        "lifecycle_stage": "lead",
        "lead_score": 42,
        "owner": manager.pk,
    }

    response = api.put(f"{URL}/{contact.pk}", body, format="json")

    assert response.status_code == 200, response.json()
    contact.refresh_from_db()
    assert (contact.first_name, contact.last_name, contact.email) == (
        "Augusta",
        "King",
        "augusta@analytical.example",
    )
    assert contact.company == ""
    assert contact.country == "FR"
    assert contact.lead_score == 42
    assert contact.owner == manager


def test_patch_may_change_the_case_of_its_own_email(api, contact):
    response = api.patch(f"{URL}/{contact.pk}", {"email": "ADA@analytical.example"}, format="json")

    assert response.status_code == 200, response.json()


def test_delete_removes_the_contact(api, contact):
    response = api.delete(f"{URL}/{contact.pk}/")

    assert response.status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert api.get(f"{URL}/{contact.pk}").status_code == 404


def test_sales_rep_may_not_delete_a_contact(api_client_for, rep, contact):
    response = api_client_for(rep).delete(f"{URL}/{contact.pk}")

    assert response.status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_sales_rep_may_create_and_edit_contacts(api_client_for, rep, contact):
    client = api_client_for(rep)
    contact.owner = rep  # their own (others': cohort/tests/test_record_ownership.py)
    contact.save()

    assert client.post(URL, {"first_name": "Rep's"}, format="json").status_code == 201
    assert client.patch(f"{URL}/{contact.pk}", {"city": "London"}, format="json").status_code == 200


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"first_name": "Twin", "email": "ADA@Analytical.Example"}, "email"),
        ({"first_name": "Bad", "email": "not-an-email"}, "email"),
        ({"first_name": "Bad", "country": "XX"}, "country"),
        ({"first_name": "Bad", "lead_score": 101}, "lead_score"),
        ({"first_name": "Bad", "lead_score": -1}, "lead_score"),
        ({"first_name": "Bad", "lifecycle_stage": "prospect"}, "lifecycle_stage"),
        ({"first_name": "Bad", "owner": 999999}, "owner"),
        ({"company": "No name, no email"}, "first_name"),
    ],
)
def test_bad_input_is_400_per_field_and_saves_nothing(api, contact, body, field):
    # given
    before = row_counts()

    # when
    response = api.post(URL, body, format="json")

    # then
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert isinstance(errors[field], list)
    assert all(isinstance(message, str) and message for message in errors[field])
    assert row_counts() == before


def test_patch_to_an_email_another_contact_uses_is_400(api, contact):
    other = Contact.objects.create(first_name="Charles", email="charles@analytical.example")

    response = api.patch(f"{URL}/{other.pk}", {"email": "Ada@Analytical.example"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["email"]
    other.refresh_from_db()
    assert other.email == "charles@analytical.example"


def test_losing_a_uniqueness_race_is_409_not_500(api, contact, monkeypatch):
    # given the serializer's own duplicate check was passed (another request saved first)
    monkeypatch.setattr(ContactSerializer, "validate_email", lambda self, email: email)

    # when the database's case-insensitive unique constraint refuses the row
    response = api.post(URL, {"email": "ADA@analytical.example"}, format="json")

    # then
    assert response.status_code == 409
    assert isinstance(response.json()["detail"], str)
    assert Contact.objects.count() == 1


def test_patch_that_clears_every_name_and_email_is_400(api, contact):
    response = api.patch(
        f"{URL}/{contact.pk}", {"first_name": "", "last_name": "", "email": ""}, format="json"
    )

    assert response.status_code == 400
    assert "first_name" in response.json()
    contact.refresh_from_db()
    assert contact.email == "ada@analytical.example"


def test_last_activity_at_is_read_only(api, contact):
    response = api.patch(
        f"{URL}/{contact.pk}", {"last_activity_at": "2020-01-01T00:00:00Z"}, format="json"
    )

    assert response.status_code == 200
    contact.refresh_from_db()
    assert contact.last_activity_at is None


# --- pagination -------------------------------------------------------------------------------


@pytest.fixture
def many_contacts(db):
    def make(count: int) -> list[Contact]:
        return Contact.objects.bulk_create(
            Contact(first_name="Bulk", last_name=f"Row {i:04d}", email=f"bulk{i}@example.com")
            for i in range(count)
        )

    return make


def test_page_size_is_capped_at_200(api, many_contacts):
    many_contacts(205)

    response = api.get(URL, {"page_size": 500})

    body = response.json()
    assert response.status_code == 200
    assert len(body["results"]) == 200
    assert body["count"] == 205
    assert body["next"] is not None


def test_default_page_size_is_50(api, many_contacts):
    many_contacts(51)

    body = api.get(URL).json()

    assert len(body["results"]) == 50
    assert body["count"] == 51


def test_next_and_previous_links_walk_the_pages(api, many_contacts):
    # given 5 contacts, two per page, sorted by name
    many_contacts(5)
    first = api.get(URL, {"page_size": 2, "ordering": "last_name"}).json()
    assert first["previous"] is None

    # when following next twice
    second = api.get(first["next"]).json()
    third = api.get(second["next"]).json()

    # then every contact shows up once, in order, and previous leads back
    assert [r["last_name"] for r in first["results"] + second["results"] + third["results"]] == [
        f"Row {i:04d}" for i in range(5)
    ]
    assert third["next"] is None
    assert "page_size=2" in second["next"]
    assert "ordering=last_name" in second["next"]
    assert api.get(third["previous"]).json()["results"] == second["results"]
    assert api.get(second["previous"]).json()["results"] == first["results"]
    assert all(page["count"] == 5 for page in (first, second, third))


def test_walking_pages_sorted_by_a_shared_value_shows_every_contact_once(api, many_contacts):
    # given 60 contacts that all share the sort key (no country)
    created = {c.pk for c in many_contacts(60)}

    # when every page of the list sorted by that key is fetched
    seen, url = [], f"{URL}?ordering=country&page_size=7"
    while url:
        body = api.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]

    # then each contact shows up exactly once
    assert sorted(seen) == sorted(created)


@pytest.mark.parametrize("page", ["0", "-1", "abc", "2"])
def test_invalid_or_past_the_end_page_is_404_with_detail(api, contact, page):
    response = api.get(URL, {"page": page})

    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str)


def test_empty_list_is_an_empty_first_page(api, db):
    body = api.get(URL).json()

    assert body == {"count": 0, "next": None, "previous": None, "results": []}


# --- filters, search, ordering ----------------------------------------------------------------


@pytest.fixture
def three_contacts(db, admin_user, manager):
    return {
        "ada": Contact.objects.create(
            first_name="Ada",
            last_name="Lovelace",
            email="ada@analytical.example",
            company="Analytical Engines",
            country="GB",
            lifecycle_stage="customer",
            lead_score=90,
            owner=admin_user,
        ),
        "grace": Contact.objects.create(
            first_name="Grace",
            last_name="Hopper",
            email="grace@navy.example",
            company="US Navy",
            country="US",
            lifecycle_stage="lead",
            lead_score=70,
            owner=manager,
        ),
        "alan": Contact.objects.create(
            first_name="Alan",
            last_name="Turing",
            email="alan@bletchley.example",
            company="Bletchley Park",
            country="GB",
            lifecycle_stage="lead",
            lead_score=80,
            owner=None,
        ),
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"country": "GB"}, {"Lovelace", "Turing"}),
        ({"lifecycle_stage": "lead"}, {"Hopper", "Turing"}),
        ({"country": "GB", "lifecycle_stage": "lead"}, {"Turing"}),
        ({"search": "grace"}, {"Hopper"}),
        ({"search": "LOVELACE"}, {"Lovelace"}),
        ({"search": "bletchley.example"}, {"Turing"}),
        ({"search": "navy"}, {"Hopper"}),
        ({"search": "ada analytical"}, {"Lovelace"}),
        ({"search": "zzz"}, set()),
    ],
)
def test_filters_and_search(api, three_contacts, params, expected):
    response = api.get(URL, params)

    assert response.status_code == 200
    assert set(names(response)) == expected
    assert response.json()["count"] == len(expected)


def test_filter_by_owner(api, three_contacts, manager):
    response = api.get(URL, {"owner": manager.pk})

    assert names(response) == ["Hopper"]


def test_filter_by_unknown_owner_is_400(api, three_contacts):
    response = api.get(URL, {"owner": 999999})

    assert response.status_code == 400
    assert "owner" in response.json()


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("last_name", ["Hopper", "Lovelace", "Turing"]),
        ("-last_name", ["Turing", "Lovelace", "Hopper"]),
        ("lead_score", ["Hopper", "Turing", "Lovelace"]),
        ("-lead_score", ["Lovelace", "Turing", "Hopper"]),
    ],
)
def test_ordering(api, three_contacts, ordering, expected):
    assert names(api.get(URL, {"ordering": ordering})) == expected


def test_default_order_is_newest_first(api, three_contacts):
    assert names(api.get(URL)) == ["Turing", "Hopper", "Lovelace"]
