"""The deals API under /api/crm/deals, as an integrator with a Bearer token sees it."""

from decimal import Decimal

import pytest

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from contacts.models import Contact
from deals.models import Deal

URL = "/api/crm/deals"


@pytest.fixture
def deal(contact, admin_user) -> Deal:
    return Deal.objects.create(
        title="Difference engine",
        contact=contact,
        value=Decimal("1500.00"),
        currency="GBP",
        stage="proposal",
        owner=admin_user,
    )


def titles(response) -> list[str]:
    return [row["title"] for row in response.json()["results"]]


# --- list, retrieve ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [URL, URL + "/"])
def test_list_answers_with_and_without_trailing_slash(api, deal, path):
    response = api.get(path)

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert [row["id"] for row in body["results"]] == [deal.pk]


@pytest.mark.parametrize("slash", ["", "/"])
def test_retrieve_shows_related_records_by_id(api, deal, contact, admin_user, slash):
    response = api.get(f"{URL}/{deal.pk}{slash}")

    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Difference engine"
    assert Decimal(body["value"]) == Decimal("1500.00")
    assert body["currency"] == "GBP"
    assert body["stage"] == "proposal"
    assert body["contact"] == contact.pk
    assert body["owner"] == admin_user.pk
    assert body["closed_at"] is None


def test_unknown_id_is_404_with_detail(api, db):
    response = api.get(f"{URL}/999999")

    assert response.status_code == 404
    assert "detail" in response.json()


# --- create, update, delete -------------------------------------------------------------------


def test_create_defaults_owner_to_the_tokens_user(api_client_for, rep, contact):
    response = api_client_for(rep).post(
        URL,
        {
            "title": "Analytical engine",
            "contact": contact.pk,
            "value": "2500.50",
            "currency": "EUR",
            "expected_close_date": "2030-06-30",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owner"] == rep.pk
    assert body["contact"] == contact.pk
    assert body["stage"] == "qualification"
    deal = Deal.objects.get(pk=body["id"])
    assert deal.value == Decimal("2500.50")
    assert str(deal.expected_close_date) == "2030-06-30"
    assert deal.owner == rep


def test_create_with_an_explicit_owner(api, manager):
    response = api.post(URL + "/", {"title": "Solo", "owner": manager.pk}, format="json")

    assert response.status_code == 201, response.json()
    assert Deal.objects.get(pk=response.json()["id"]).owner == manager


def test_patch_changes_only_the_given_fields(api, deal):
    response = api.patch(f"{URL}/{deal.pk}", {"value": "1750"}, format="json")

    assert response.status_code == 200, response.json()
    deal.refresh_from_db()
    assert deal.value == Decimal("1750")
    assert (deal.title, deal.currency, deal.stage) == ("Difference engine", "GBP", "proposal")


def test_put_replaces_the_record(api, deal, manager):
    other = Contact.objects.create(first_name="Charles", email="charles@analytical.example")

    response = api.put(
        f"{URL}/{deal.pk}",
        {
            "title": "Renamed",
            "contact": other.pk,
            "value": "10",
            "currency": "JPY",
            "stage": "negotiation",
            "owner": manager.pk,
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    deal.refresh_from_db()
    assert (deal.title, deal.currency, deal.stage) == ("Renamed", "JPY", "negotiation")
    assert (deal.contact, deal.owner) == (other, manager)


def test_delete_removes_the_deal(api, deal, contact):
    response = api.delete(f"{URL}/{deal.pk}/")

    assert response.status_code == 204
    assert not Deal.objects.filter(pk=deal.pk).exists()
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_sales_rep_may_not_delete_a_deal(api_client_for, rep, deal):
    assert api_client_for(rep).delete(f"{URL}/{deal.pk}").status_code == 403
    assert Deal.objects.filter(pk=deal.pk).exists()


# --- closing and reopening --------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["won", "lost"])
def test_closing_a_deal_sets_closed_at(api, deal, stage):
    # given an open deal
    before = timezone.now()

    # when
    response = api.patch(f"{URL}/{deal.pk}", {"stage": stage}, format="json")

    # then
    assert response.status_code == 200
    closed_at = parse_datetime(response.json()["closed_at"])
    assert before <= closed_at <= timezone.now()
    deal.refresh_from_db()
    assert deal.closed_at == closed_at


def test_reopening_a_deal_clears_closed_at(api, deal):
    # given a won deal
    api.patch(f"{URL}/{deal.pk}", {"stage": "won"}, format="json")

    # when
    response = api.patch(f"{URL}/{deal.pk}", {"stage": "negotiation"}, format="json")

    # then
    assert response.json()["closed_at"] is None
    deal.refresh_from_db()
    assert deal.closed_at is None


def test_creating_a_won_deal_sets_closed_at(api, db):
    response = api.post(URL, {"title": "Done deal", "stage": "won"}, format="json")

    assert response.status_code == 201
    assert response.json()["closed_at"] is not None


def test_closed_at_cannot_be_written(api, deal):
    response = api.patch(f"{URL}/{deal.pk}", {"closed_at": "2020-01-01T00:00:00Z"}, format="json")

    assert response.status_code == 200
    assert response.json()["closed_at"] is None


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"value": "1"}, "title"),
        ({"title": "Bad", "currency": "ZZZ"}, "currency"),
        ({"title": "Bad", "value": "-0.01"}, "value"),
        ({"title": "Bad", "value": "lots"}, "value"),
        ({"title": "Bad", "stage": "closed"}, "stage"),
        ({"title": "Bad", "owner": 999999}, "owner"),
        ({"title": "Bad", "contact": 999999}, "contact"),
        ({"title": "Bad", "expected_close_date": "next week"}, "expected_close_date"),
    ],
)
def test_bad_input_is_400_per_field_and_saves_nothing(api, deal, body, field):
    response = api.post(URL, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert isinstance(response.json()[field], list)
    assert Deal.objects.count() == 1


def test_negative_value_on_update_is_400_and_keeps_the_old_value(api, deal):
    response = api.patch(f"{URL}/{deal.pk}", {"value": "-5"}, format="json")

    assert response.status_code == 400
    assert "value" in response.json()
    deal.refresh_from_db()
    assert deal.value == Decimal("1500.00")


# --- pagination, filters, ordering ------------------------------------------------------------


def test_page_size_is_capped_at_200(api, db):
    Deal.objects.bulk_create(Deal(title=f"Deal {i}") for i in range(201))

    body = api.get(URL, {"page_size": 500}).json()

    assert len(body["results"]) == 200
    assert body["count"] == 201
    assert len(api.get(body["next"]).json()["results"]) == 1


@pytest.fixture
def three_deals(db, admin_user, manager, contact):
    other = Contact.objects.create(first_name="Grace", last_name="Hopper", company="US Navy")
    Deal.objects.create(title="Alpha", value=300, stage="won", owner=admin_user, contact=contact)
    Deal.objects.create(title="Bravo", value=100, stage="proposal", owner=manager, contact=other)
    Deal.objects.create(title="Charlie", value=200, stage="proposal")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"stage": "proposal"}, {"Bravo", "Charlie"}),
        ({"stage": "won"}, {"Alpha"}),
        ({"search": "charlie"}, {"Charlie"}),
        ({"search": "lovelace"}, {"Alpha"}),
        ({"search": "navy"}, {"Bravo"}),
    ],
)
def test_filters_and_search(api, three_deals, params, expected):
    response = api.get(URL, params)

    assert response.status_code == 200
    assert set(titles(response)) == expected


def test_filter_by_owner_and_contact(api, three_deals, manager, contact):
    assert titles(api.get(URL, {"owner": manager.pk})) == ["Bravo"]
    assert titles(api.get(URL, {"contact": contact.pk})) == ["Alpha"]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("value", ["Bravo", "Charlie", "Alpha"]),
        ("-value", ["Alpha", "Charlie", "Bravo"]),
        ("title", ["Alpha", "Bravo", "Charlie"]),
        ("-title", ["Charlie", "Bravo", "Alpha"]),
    ],
)
def test_ordering(api, three_deals, ordering, expected):
    assert titles(api.get(URL, {"ordering": ordering})) == expected
