"""The deal pages: list, record, forms, stages and who may use them."""

import re
from decimal import Decimal

import pytest

from django.utils import dateformat, timezone

from contacts.models import Contact
from deals.models import Deal
from testing.pages import queries_for, table_rows


@pytest.fixture
def deal(db, admin_user, contact) -> Deal:
    return Deal.objects.create(
        title="Difference engine No. 2",
        contact=contact,
        value=Decimal("17000"),
        currency="GBP",
        stage="proposal",
        owner=admin_user,
    )


def deal_data(**overrides) -> dict:
    data = {
        "title": "Compiler licence",
        "contact": "",
        "value": "1250.50",
        "currency": "EUR",
        "stage": "qualification",
        "expected_close_date": "2030-06-30",
        "owner": "",
    }
    return {**data, **overrides}


def titles_on(client, query: str) -> list[str]:
    html = client.get("/admin/deals" + query, HTTP_HX_REQUEST="true").content.decode()
    return [re.search(r'">([^<]*)</a>', row).group(1) for row in table_rows(html)]


@pytest.mark.parametrize("slash", ["", "/"])
@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ("", "<h1>Deals</h1>"),
        ("/{id}", "<h1>Difference engine No. 2</h1>"),
        ("/new", "<h1>New deal</h1>"),
        ("/{id}/edit", "<h1>Edit Difference engine No. 2</h1>"),
        ("/{id}/delete", "Delete deal “Difference engine No. 2”?"),
    ],
)
def test_deal_pages_render_for_an_administrator(browser_client, deal, suffix, expected, slash):
    response = browser_client.get("/admin/deals" + suffix.format(id=deal.pk) + slash)
    assert response.status_code == 200
    assert expected in response.content.decode()


def test_deal_page_shows_value_and_contact(browser_client, deal, contact):
    html = browser_client.get(f"/admin/deals/{deal.pk}").content.decode()
    assert "17,000.00 GBP" in html
    assert f'<a href="/admin/contacts/{contact.pk}">Ada Lovelace</a>' in html
    assert '<span class="badge proposal">Proposal</span>' in html


def test_new_deal_from_a_contact_page_prefills_the_contact(browser_client, contact):
    html = browser_client.get(f"/admin/deals/new?contact={contact.pk}").content.decode()
    assert re.search(rf'name="contact" value="{contact.pk}"', html)


@pytest.mark.parametrize(
    ("user_fixture", "method", "suffix", "status"),
    [
        ("nobody", "GET", "", 403),
        ("nobody", "GET", "/{id}", 403),
        ("viewer", "GET", "", 200),
        ("viewer", "GET", "/{id}", 200),
        ("viewer", "GET", "/new", 403),
        ("viewer", "POST", "/new", 403),
        ("viewer", "GET", "/{id}/edit", 403),
        ("viewer", "POST", "/{id}/edit", 403),
        ("viewer", "GET", "/{id}/delete", 403),
        ("viewer", "POST", "/{id}/delete", 403),
        ("rep", "POST", "/new", 302),
        # Someone else's: a rep edits only their own (core.ownership; their own: 302).
        ("rep", "GET", "/{id}/edit", 403),
        ("rep", "POST", "/{id}/edit", 403),
        ("rep", "GET", "/{id}/delete", 403),
        ("rep", "POST", "/{id}/delete", 403),
        ("manager", "GET", "/{id}/delete", 200),
        ("manager", "POST", "/{id}/delete", 302),
    ],
)
def test_permission_table(client, request, deal, user_fixture, method, suffix, status):
    client.force_login(request.getfixturevalue(user_fixture))
    url = "/admin/deals" + suffix.format(id=deal.pk)
    response = client.get(url) if method == "GET" else client.post(url, deal_data())
    assert response.status_code == status
    if status == 403:
        deal.refresh_from_db()
        assert deal.title == "Difference engine No. 2"
        assert Deal.objects.count() == 1


def test_anonymous_user_is_sent_to_login(client, deal):
    response = client.post(f"/admin/deals/{deal.pk}/delete")
    assert response["Location"] == f"/admin/login?next=/admin/deals/{deal.pk}/delete"
    assert Deal.objects.filter(pk=deal.pk).exists()


def test_viewer_sees_no_edit_buttons(client, viewer, deal):
    client.force_login(viewer)
    html = client.get(f"/admin/deals/{deal.pk}").content.decode()
    assert f"/admin/deals/{deal.pk}/edit" not in html
    assert f"/admin/deals/{deal.pk}/delete" not in html
    assert "New deal" not in client.get("/admin/deals").content.decode()


def test_create_deal(browser_client, contact):
    response = browser_client.post("/admin/deals/new", deal_data(contact=contact.pk), follow=True)
    created = Deal.objects.get()
    assert (created.value, created.currency, created.contact) == (
        Decimal("1250.50"),
        "EUR",
        contact,
    )
    assert created.closed_at is None
    assert response.redirect_chain == [(f"/admin/deals/{created.pk}", 302)]
    assert "Deal “Compiler licence” created." in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"currency": "ZZZ"},
            "currency",
            "Select a valid choice. ZZZ is not one of the available choices.",
        ),
        ({"value": "-5"}, "value", "Ensure this value is greater than or equal to 0."),
        ({"title": ""}, "title", "This field is required."),
        ({"expected_close_date": "someday"}, "expected_close_date", "Enter a valid date."),
        (
            {"stage": "closed"},
            "stage",
            "Select a valid choice. closed is not one of the available choices.",
        ),
    ],
)
def test_invalid_deal_reshows_form_with_field_error(browser_client, db, overrides, field, message):
    response = browser_client.post("/admin/deals/new", deal_data(**overrides))
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert f'<p class="field-error">{message}</p>' in response.content.decode()
    assert not Deal.objects.exists()


def test_currency_is_a_choice_of_iso_codes(browser_client, db):
    html = browser_client.get("/admin/deals/new").content.decode()
    assert '<option value="USD" selected>USD — US Dollar</option>' in html
    assert '<option value="EUR">' in html


@pytest.mark.parametrize("stage", ["won", "lost"])
def test_closing_a_deal_sets_closed_at(browser_client, deal, stage):
    browser_client.post(f"/admin/deals/{deal.pk}/edit", deal_data(stage=stage))
    deal.refresh_from_db()
    assert deal.stage == stage
    assert deal.closed_at is not None
    html = browser_client.get(f"/admin/deals/{deal.pk}").content.decode()
    closed = dateformat.format(timezone.localtime(deal.closed_at), "j M Y")
    assert f"<dt>Closed</dt><dd>{closed}</dd>" in html


def test_reopening_a_won_deal_clears_closed_at(browser_client, deal):
    browser_client.post(f"/admin/deals/{deal.pk}/edit", deal_data(stage="won"))
    browser_client.post(f"/admin/deals/{deal.pk}/edit", deal_data(stage="negotiation"))
    deal.refresh_from_db()
    assert deal.closed_at is None


def test_delete_deal_keeps_the_contact(browser_client, deal, contact):
    response = browser_client.post(f"/admin/deals/{deal.pk}/delete")
    assert response["Location"] == "/admin/deals"
    assert not Deal.objects.exists()
    assert Contact.objects.filter(pk=contact.pk).exists()


@pytest.fixture
def deals(admin_user, make_user, contact):
    grace = Contact.objects.create(first_name="Grace", last_name="Hopper", company="US Navy")
    other = make_user("other")
    return [
        Deal.objects.create(
            title="Engine", contact=contact, value=100, stage="won", owner=admin_user
        ),
        Deal.objects.create(title="Compiler", contact=grace, value=300, stage="proposal"),
        Deal.objects.create(title="Bombe", value=200, stage="proposal", owner=other),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Bombe", "Compiler", "Engine"]),
        ("?search=bombe", ["Bombe"]),
        ("?search=lovelace", ["Engine"]),
        ("?search=navy", ["Compiler"]),
        ("?stage=proposal", ["Bombe", "Compiler"]),
        ("?stage=won", ["Engine"]),
        ("?ordering=title", ["Bombe", "Compiler", "Engine"]),
        ("?ordering=-value", ["Compiler", "Bombe", "Engine"]),
    ],
)
def test_search_filter_and_sort(browser_client, deals, query, expected):
    assert titles_on(browser_client, query) == expected


def test_filter_by_owner(browser_client, deals, admin_user):
    assert titles_on(browser_client, f"?owner={admin_user.pk}") == ["Engine"]


def test_filter_by_contact_id(browser_client, deals, contact):
    assert titles_on(browser_client, f"?contact={contact.pk}") == ["Engine"]


def test_htmx_request_gets_only_the_results(browser_client, deals):
    html = browser_client.get("/admin/deals?stage=won", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html
    assert "Showing 1–1 of 1 deals" in html


def test_list_query_count_does_not_grow_with_rows(browser_client, admin_user, contact):
    Deal.objects.bulk_create(
        Deal(title=f"A{n}", owner=admin_user, contact=contact, value=n) for n in range(5)
    )
    browser_client.get("/admin/deals")  # warm up per-process caches
    with_5 = queries_for(browser_client, "/admin/deals")
    Deal.objects.bulk_create(
        Deal(title=f"B{n}", owner=admin_user, contact=contact, value=n) for n in range(45)
    )
    with_50 = queries_for(browser_client, "/admin/deals")
    assert with_5 == with_50


def test_list_page_does_not_list_every_contact(browser_client, db):
    Contact.objects.bulk_create(Contact(first_name=f"Unrelated{n}") for n in range(20))
    html = browser_client.get("/admin/deals").content.decode()
    assert "Unrelated1" not in html


def test_deal_title_is_escaped(browser_client, db):
    evil = Deal.objects.create(title="<script>alert(1)</script>")
    for url in ("/admin/deals", f"/admin/deals/{evil.pk}"):
        html = browser_client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
