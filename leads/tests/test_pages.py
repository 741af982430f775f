"""The lead pages: list, record, forms and who may use them."""

import re

import pytest

from contacts.models import Contact
from leads.models import Lead
from testing.pages import queries_for, table_rows


@pytest.fixture
def lead(db, admin_user, contact) -> Lead:
    return Lead.objects.create(
        name="Ada's engine",
        email="ada@analytical.example",
        company="Analytical Engines",
        status="new",
        score=30,
        owner=admin_user,
        contact=contact,
    )


def lead_data(**overrides) -> dict:
    data = {
        "name": "Navy compiler",
        "email": "grace@navy.example",
        "phone": "",
        "company": "US Navy",
        "source": "referral",
        "status": "contacted",
        "score": "55",
        "owner": "",
        "contact": "",
    }
    return {**data, **overrides}


def names_on(client, query: str) -> list[str]:
    html = client.get("/admin/leads" + query, HTTP_HX_REQUEST="true").content.decode()
    return [re.search(r'">([^<]*)</a>', row).group(1) for row in table_rows(html)]


@pytest.mark.parametrize("slash", ["", "/"])
@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ("", "<h1>Leads</h1>"),
        ("/{id}", "<h1>Ada&#x27;s engine</h1>"),
        ("/new", "<h1>New lead</h1>"),
        ("/{id}/edit", "<h1>Edit Ada&#x27;s engine</h1>"),
        ("/{id}/delete", "Delete lead “Ada&#x27;s engine”?"),
    ],
)
def test_lead_pages_render_for_an_administrator(browser_client, lead, suffix, expected, slash):
    response = browser_client.get("/admin/leads" + suffix.format(id=lead.pk) + slash)
    assert response.status_code == 200
    assert expected in response.content.decode()


def test_lead_page_links_to_its_contact(browser_client, lead, contact):
    html = browser_client.get(f"/admin/leads/{lead.pk}").content.decode()
    assert f'<a href="/admin/contacts/{contact.pk}">Ada Lovelace</a>' in html
    assert '<span class="badge new">New</span>' in html


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
def test_permission_table(client, request, lead, user_fixture, method, suffix, status):
    client.force_login(request.getfixturevalue(user_fixture))
    url = "/admin/leads" + suffix.format(id=lead.pk)
    response = client.get(url) if method == "GET" else client.post(url, lead_data())
    assert response.status_code == status
    if status == 403:
        lead.refresh_from_db()
        assert lead.name == "Ada's engine"
        assert Lead.objects.count() == 1


def test_anonymous_user_is_sent_to_login(client, lead):
    response = client.get(f"/admin/leads/{lead.pk}/edit")
    assert response["Location"] == f"/admin/login?next=/admin/leads/{lead.pk}/edit"


def test_viewer_sees_no_edit_buttons(client, viewer, lead):
    client.force_login(viewer)
    html = client.get(f"/admin/leads/{lead.pk}").content.decode()
    assert f"/admin/leads/{lead.pk}/edit" not in html
    assert f"/admin/leads/{lead.pk}/delete" not in html
    assert "New lead" not in client.get("/admin/leads").content.decode()


def test_create_lead_for_a_contact(browser_client, contact):
    response = browser_client.post("/admin/leads/new", lead_data(contact=contact.pk), follow=True)
    created = Lead.objects.get()
    assert created.contact == contact
    assert created.score == 55
    assert response.redirect_chain == [(f"/admin/leads/{created.pk}", 302)]
    html = response.content.decode()
    assert "Lead “Navy compiler” created." in html
    assert '<span class="badge contacted">Contacted</span>' in html


def test_edit_lead_status(browser_client, lead):
    browser_client.post(f"/admin/leads/{lead.pk}/edit", lead_data(status="qualified"))
    lead.refresh_from_db()
    assert lead.status == "qualified"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"score": "101"}, "score", "Ensure this value is less than or equal to 100."),
        ({"name": ""}, "name", "This field is required."),
        (
            {"status": "won"},
            "status",
            "Select a valid choice. won is not one of the available choices.",
        ),
        (
            {"contact": "999999"},
            "contact",
            "Select a valid choice. That choice is not one of the available choices.",
        ),
    ],
)
def test_invalid_lead_reshows_form_with_field_error(browser_client, db, overrides, field, message):
    response = browser_client.post("/admin/leads/new", lead_data(**overrides))
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert f'<p class="field-error">{message}</p>' in response.content.decode()
    assert not Lead.objects.exists()


def test_delete_lead_keeps_the_contact(browser_client, lead, contact):
    response = browser_client.post(f"/admin/leads/{lead.pk}/delete")
    assert response["Location"] == "/admin/leads"
    assert not Lead.objects.exists()
    assert Contact.objects.filter(pk=contact.pk).exists()


@pytest.fixture
def leads(admin_user, make_user):
    other = make_user("other")
    return [
        Lead.objects.create(
            name="Engine", company="Analytical Engines", status="new", score=10, owner=admin_user
        ),
        Lead.objects.create(
            name="Compiler", email="grace@navy.example", status="qualified", score=90, owner=other
        ),
        Lead.objects.create(name="Bombe", company="Bletchley Park", status="qualified", score=50),
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Bombe", "Compiler", "Engine"]),
        ("?search=engines", ["Engine"]),
        ("?search=NAVY", ["Compiler"]),
        ("?search=bletchley+park", ["Bombe"]),
        ("?status=qualified", ["Bombe", "Compiler"]),
        ("?ordering=name", ["Bombe", "Compiler", "Engine"]),
        ("?ordering=-score", ["Compiler", "Bombe", "Engine"]),
        ("?status=qualified&ordering=-name", ["Compiler", "Bombe"]),
    ],
)
def test_search_filter_and_sort(browser_client, leads, query, expected):
    assert names_on(browser_client, query) == expected


def test_filter_by_owner(browser_client, leads, admin_user):
    assert names_on(browser_client, f"?owner={admin_user.pk}") == ["Engine"]


def test_filter_by_contact_id(browser_client, leads, contact):
    Lead.objects.filter(name="Bombe").update(contact=contact)
    assert names_on(browser_client, f"?contact={contact.pk}") == ["Bombe"]


def test_htmx_request_gets_only_the_results(browser_client, leads):
    html = browser_client.get("/admin/leads", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html
    assert "Showing 1–3 of 3 leads" in html


def test_list_query_count_does_not_grow_with_rows(browser_client, admin_user, contact):
    Lead.objects.bulk_create(
        Lead(name=f"A{n}", owner=admin_user, contact=contact, source="event") for n in range(5)
    )
    browser_client.get("/admin/leads")  # warm up per-process caches
    with_5 = queries_for(browser_client, "/admin/leads")
    Lead.objects.bulk_create(
        Lead(name=f"B{n}", owner=admin_user, contact=contact) for n in range(45)
    )
    with_50 = queries_for(browser_client, "/admin/leads")
    assert with_5 == with_50


def test_list_page_does_not_list_every_contact(browser_client, db):
    Contact.objects.bulk_create(Contact(first_name=f"Unrelated{n}") for n in range(20))
    html = browser_client.get("/admin/leads").content.decode()
    assert "Unrelated1" not in html


def test_lead_name_is_escaped(browser_client, db):
    evil = Lead.objects.create(name="<img src=x onerror=alert(1)>")
    for url in ("/admin/leads", f"/admin/leads/{evil.pk}"):
        html = browser_client.get(url).content.decode()
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
