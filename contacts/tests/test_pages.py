"""The contact pages as a signed-in user sees them: lists, records, forms and permissions."""

import re

import pytest

from django.test import override_settings

from activities.models import Activity
from contacts.models import Contact
from testing.pages import queries_for, table_rows


def contact_data(**overrides) -> dict:
    """What the contact form posts when a user fills in a name and leaves defaults."""
    data = {
        "first_name": "Grace",
        "last_name": "Hopper",
        "email": "grace@navy.example",
        "phone": "",
        "company": "US Navy",
        "job_title": "",
        "country": "US",
        "city": "",
        "lifecycle_stage": "lead",
        "lead_score": "40",
        "source": "",
        "owner": "",
    }
    return {**data, **overrides}


def make_contacts(count: int, **fields) -> list[Contact]:
    return Contact.objects.bulk_create(
        Contact(first_name=f"Person{i:03}", last_name=f"Surname{i:03}", **fields)
        for i in range(count)
    )


# --- Every page renders ------------------------------------------------------------------


@pytest.mark.parametrize("slash", ["", "/"])
@pytest.mark.parametrize(
    ("suffix", "expected"),
    [
        ("", "<h1>Contacts</h1>"),
        ("/{id}", "<h1>Ada Lovelace</h1>"),
        ("/new", "<h1>New contact</h1>"),
        ("/{id}/edit", "<h1>Edit Ada Lovelace</h1>"),
        ("/{id}/delete", "Delete contact “Ada Lovelace”?"),
    ],
)
def test_contact_pages_render_for_an_administrator(
    browser_client, contact, suffix, expected, slash
):
    response = browser_client.get("/admin/contacts" + suffix.format(id=contact.pk) + slash)
    assert response.status_code == 200
    assert expected in response.content.decode()


@pytest.mark.parametrize("suffix", ["/999999", "/999999/edit", "/999999/delete"])
def test_missing_contact_is_404(browser_client, suffix):
    assert browser_client.get("/admin/contacts" + suffix).status_code == 404


def test_contact_page_shows_its_details(browser_client, contact):
    html = browser_client.get(f"/admin/contacts/{contact.pk}").content.decode()
    assert 'href="mailto:ada@analytical.example"' in html
    assert "Analytical Engines" in html
    assert "United Kingdom (GB)" in html


# --- Permissions ---------------------------------------------------------------------------

PAGES = {
    "list": ("GET", "/admin/contacts"),
    "detail": ("GET", "/admin/contacts/{id}"),
    "new": ("GET", "/admin/contacts/new"),
    "create": ("POST", "/admin/contacts/new"),
    "edit": ("GET", "/admin/contacts/{id}/edit"),
    "update": ("POST", "/admin/contacts/{id}/edit"),
    "delete": ("GET", "/admin/contacts/{id}/delete"),
    "destroy": ("POST", "/admin/contacts/{id}/delete"),
}

# Status each role gets on each page; 302 after a POST means the change went through.
PERMISSION_TABLE = [
    ("nobody", "list", 403),
    ("nobody", "detail", 403),
    ("nobody", "new", 403),
    ("nobody", "create", 403),
    ("nobody", "edit", 403),
    ("nobody", "update", 403),
    ("nobody", "delete", 403),
    ("nobody", "destroy", 403),
    ("viewer", "list", 200),
    ("viewer", "detail", 200),
    ("viewer", "new", 403),
    ("viewer", "create", 403),
    ("viewer", "edit", 403),
    ("viewer", "update", 403),
    ("viewer", "delete", 403),
    ("viewer", "destroy", 403),
    ("rep", "list", 200),
    ("rep", "detail", 200),
    ("rep", "new", 200),
    ("rep", "create", 302),
    # The contact is the Administrator's: a rep edits only their own (core.ownership).
    ("rep", "edit", 403),
    ("rep", "update", 403),
    ("rep", "delete", 403),
    ("rep", "destroy", 403),
    ("manager", "list", 200),
    ("manager", "new", 200),
    ("manager", "create", 302),
    ("manager", "update", 302),
    ("manager", "delete", 200),
    ("manager", "destroy", 302),
    ("admin_user", "delete", 200),
    ("admin_user", "destroy", 302),
]


def request_page(client, page: str, contact: Contact):
    method, path = PAGES[page]
    url = path.format(id=contact.pk)
    if method == "GET":
        return client.get(url)
    return client.post(url, contact_data(email=f"{page}@example.com"))


@pytest.mark.parametrize(("user_fixture", "page", "status"), PERMISSION_TABLE)
def test_permission_table(client, request, contact, user_fixture, page, status):
    client.force_login(request.getfixturevalue(user_fixture))
    before = Contact.objects.count()
    response = request_page(client, page, contact)
    assert response.status_code == status
    if PAGES[page][0] == "POST":
        assert_post_effect(page, contact, done=status == 302, count_before=before)


def assert_post_effect(page: str, contact: Contact, *, done: bool, count_before: int) -> None:
    """A permitted POST changed the database as asked; a refused one changed nothing."""
    email = f"{page}@example.com"
    if page == "create":
        assert Contact.objects.filter(email=email).exists() == done
    elif page == "update":
        contact.refresh_from_db()
        assert (contact.email == email) == done
    elif page == "destroy":
        assert Contact.objects.filter(pk=contact.pk).exists() != done
    if not done:
        assert Contact.objects.count() == count_before


@pytest.mark.parametrize("page", PAGES)
def test_anonymous_user_is_sent_to_login(client, contact, page):
    response = request_page(client, page, contact)
    path = PAGES[page][1].format(id=contact.pk)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login?next={path}"
    assert Contact.objects.count() == 1


def test_login_redirect_keeps_the_query_string(client):
    response = client.get("/admin/contacts?country=GB")
    assert response["Location"] == "/admin/login?next=/admin/contacts%3Fcountry%3DGB"


def test_delete_by_a_manager_removes_the_contact(client, manager, contact):
    client.force_login(manager)
    client.post(f"/admin/contacts/{contact.pk}/delete")
    assert not Contact.objects.filter(pk=contact.pk).exists()


def test_viewer_sees_no_edit_buttons(client, viewer, contact):
    client.force_login(viewer)
    detail = client.get(f"/admin/contacts/{contact.pk}").content.decode()
    listing = client.get("/admin/contacts").content.decode()
    assert f'href="/admin/contacts/{contact.pk}/edit"' not in detail
    assert f'href="/admin/contacts/{contact.pk}/delete"' not in detail
    assert "Log activity" not in detail
    assert "New deal" not in detail
    assert 'href="/admin/contacts/new"' not in listing
    assert "New contact" not in listing


def test_administrator_sees_the_edit_buttons(browser_client, contact):
    detail = browser_client.get(f"/admin/contacts/{contact.pk}").content.decode()
    listing = browser_client.get("/admin/contacts").content.decode()
    assert f'href="/admin/contacts/{contact.pk}/edit">Edit</a>' in detail
    assert f'href="/admin/contacts/{contact.pk}/delete">Delete</a>' in detail
    assert "Log activity" in detail
    assert f'href="/admin/deals/new?contact={contact.pk}"' in detail
    assert 'href="/admin/contacts/new">New contact</a>' in listing


def test_sales_rep_can_edit_but_sees_no_delete_button(client, rep, contact):
    contact.owner = rep  # their own (others': cohort/tests/test_record_ownership.py)
    contact.save()
    client.force_login(rep)
    detail = client.get(f"/admin/contacts/{contact.pk}").content.decode()
    assert f'href="/admin/contacts/{contact.pk}/edit"' in detail
    assert f'href="/admin/contacts/{contact.pk}/delete"' not in detail


# --- Create, edit, delete ------------------------------------------------------------------


def test_create_contact_then_it_shows_on_its_page(browser_client, admin_user):
    response = browser_client.post("/admin/contacts/new", contact_data(owner=admin_user.pk))
    created = Contact.objects.get(email="grace@navy.example")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/contacts/{created.pk}"
    assert created.owner == admin_user
    page = browser_client.get(response["Location"]).content.decode()
    assert "<h1>Grace Hopper</h1>" in page
    assert "Contact “Grace Hopper” created." in page
    assert "US Navy" in page


def test_new_contact_form_defaults_the_owner_to_me(browser_client, admin_user):
    html = browser_client.get("/admin/contacts/new").content.decode()
    assert f'<option value="{admin_user.pk}" selected>' in html


def test_edit_contact(browser_client, contact):
    form = browser_client.get(f"/admin/contacts/{contact.pk}/edit").content.decode()
    assert 'value="Ada"' in form
    response = browser_client.post(
        f"/admin/contacts/{contact.pk}/edit",
        contact_data(first_name="Augusta Ada", last_name="King", email=contact.email),
        follow=True,
    )
    contact.refresh_from_db()
    assert contact.full_name == "Augusta Ada King"
    assert "Contact “Augusta Ada King” saved." in response.content.decode()


def test_keeping_my_own_email_is_not_a_duplicate(browser_client, contact):
    response = browser_client.post(
        f"/admin/contacts/{contact.pk}/edit", contact_data(email="ADA@analytical.example")
    )
    assert response.status_code == 302


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"lead_score": "101"}, "lead_score", "Ensure this value is less than or equal to 100."),
        ({"lead_score": "-1"}, "lead_score", "Ensure this value is greater than or equal to 0."),
        (
            {"country": "XX"},
            "country",
            "Select a valid choice. XX is not one of the available choices.",
        ),
        (
            {"first_name": "", "last_name": "", "email": ""},
            "first_name",
            "Give the contact at least a name or an email.",
        ),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        (
            {"email": "ADA@Analytical.Example"},
            "email",
            "A contact with this email already exists.",
        ),
    ],
)
def test_invalid_contact_reshows_form_with_field_error(
    browser_client, contact, overrides, field, message
):
    response = browser_client.post("/admin/contacts/new", contact_data(**overrides))
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert f'<p class="field-error">{message}</p>' in response.content.decode()
    assert Contact.objects.count() == 1


def test_empty_email_is_not_a_duplicate(browser_client, contact):
    Contact.objects.create(first_name="No", last_name="Email")
    response = browser_client.post("/admin/contacts/new", contact_data(email=""))
    assert response.status_code == 302


def test_delete_page_warns_and_post_removes_contact_and_its_activities(browser_client, contact):
    Activity.objects.create(contact=contact, subject="Intro call")
    page = browser_client.get(f"/admin/contacts/{contact.pk}/delete").content.decode()
    assert "Its activities are deleted with it" in page
    response = browser_client.post(f"/admin/contacts/{contact.pk}/delete")
    assert response.status_code == 302
    assert response["Location"] == "/admin/contacts"
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not Activity.objects.exists()
    listing = browser_client.get("/admin/contacts").content.decode()
    assert "Contact “Ada Lovelace” deleted." in listing
    assert "No contacts match." in listing


# --- The list page -----------------------------------------------------------------------


@pytest.fixture
def people(admin_user, make_user):
    other = make_user("other")
    return [
        Contact.objects.create(
            first_name="Ada",
            last_name="Lovelace",
            email="ada@analytical.example",
            company="Analytical Engines",
            country="GB",
            lifecycle_stage="customer",
            owner=admin_user,
        ),
        Contact.objects.create(
            first_name="Charles",
            last_name="Babbage",
            email="charles@difference.example",
            company="Difference Engines",
            country="GB",
            lifecycle_stage="lead",
            owner=other,
        ),
        Contact.objects.create(
            first_name="Grace",
            last_name="Hopper",
            email="grace@navy.example",
            company="US Navy",
            country="US",
            lifecycle_stage="customer",
            owner=other,
        ),
    ]


def results(client, query: str = "") -> str:
    """The results part of the list, as htmx fetches it when filters change."""
    return client.get("/admin/contacts" + query, HTTP_HX_REQUEST="true").content.decode()


def names_on(client, query: str) -> list[str]:
    html = results(client, query)
    return [re.search(r'">([^<]*)</a>', row).group(1) for row in table_rows(html)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Grace Hopper", "Charles Babbage", "Ada Lovelace"]),
        ("?search=lovelace", ["Ada Lovelace"]),
        ("?search=ADA+lovelace", ["Ada Lovelace"]),
        ("?search=grace%40navy", ["Grace Hopper"]),
        ("?search=engines", ["Charles Babbage", "Ada Lovelace"]),
        ("?search=difference+engines", ["Charles Babbage"]),
        ("?search=ada+babbage", []),
        ("?country=US", ["Grace Hopper"]),
        ("?lifecycle_stage=customer", ["Grace Hopper", "Ada Lovelace"]),
        ("?country=GB&lifecycle_stage=customer", ["Ada Lovelace"]),
        ("?ordering=last_name", ["Charles Babbage", "Grace Hopper", "Ada Lovelace"]),
        ("?ordering=-last_name", ["Ada Lovelace", "Grace Hopper", "Charles Babbage"]),
    ],
)
def test_search_filter_and_sort(browser_client, people, query, expected):
    assert names_on(browser_client, query) == expected


def test_filter_by_owner(browser_client, people, admin_user):
    assert names_on(browser_client, f"?owner={admin_user.pk}") == ["Ada Lovelace"]


def test_no_match_says_so(browser_client, people):
    html = results(browser_client, "?search=nobody-like-this")
    assert "No contacts match." in html
    assert "<table" not in html


def test_invalid_filter_value_shows_an_error(browser_client, people):
    html = results(browser_client, "?country=XX")
    assert "Select a valid choice. XX is not one of the available choices." in html
    assert table_rows(html) == []


def test_sort_header_links_toggle_direction(browser_client, people):
    html = results(browser_client, "?ordering=last_name")
    assert 'href="?ordering=-last_name" ' in html
    assert 'aria-sort="ascending">Name ▲</a>' in html
    html = results(browser_client, "?ordering=-last_name")
    assert 'href="?ordering=last_name" ' in html
    assert 'aria-sort="descending">Name ▼</a>' in html


def test_filter_form_keeps_the_sort_and_offers_every_owner(browser_client, people, make_user):
    # A deactivated user may still own records, so the filter still offers them.
    make_user("gone", is_active=False)
    html = browser_client.get("/admin/contacts?ordering=-last_name").content.decode()
    assert '<input type="hidden" name="ordering" value="-last_name">' in html
    assert ">other</option>" in html
    assert ">gone</option>" in html


@pytest.fixture
def many_contacts(db):
    return make_contacts(120)


def test_first_page_shows_50_rows_and_a_next_link(browser_client, many_contacts):
    html = browser_client.get("/admin/contacts").content.decode()
    assert len(table_rows(html)) == 50
    assert "Showing 1–50 of 120 contacts" in html
    assert 'href="?page=2"' in html
    assert "Next ›" in html
    assert "‹ Previous" not in html


def test_last_page_shows_the_rest(browser_client, many_contacts):
    html = results(browser_client, "?page=3")
    assert len(table_rows(html)) == 20
    assert "Showing 101–120 of 120 contacts" in html
    assert 'href="?page=2"' in html
    assert "Next ›" not in html


def test_pages_do_not_overlap(browser_client, many_contacts):
    pages = [names_on(browser_client, f"?page={n}") for n in (1, 2, 3)]
    everyone = [name for page in pages for name in page]
    assert len(everyone) == len(set(everyone)) == 120


def test_next_link_keeps_the_filters(browser_client, many_contacts):
    Contact.objects.update(country="GB")
    html = results(browser_client, "?country=GB&ordering=last_name")
    assert 'href="?country=GB&amp;ordering=last_name&amp;page=2"' in html


@pytest.mark.parametrize("page", ["abc", "0", "-2", ""])
def test_nonsense_page_number_shows_page_one(browser_client, many_contacts, page):
    html = results(browser_client, f"?page={page}")
    assert "Showing 1–50 of 120 contacts" in html


def test_page_past_the_end_is_empty(browser_client, many_contacts):
    html = results(browser_client, "?page=9")
    assert table_rows(html) == []


def test_huge_page_number_is_not_a_server_error(browser_client, contact):
    response = browser_client.get(
        "/admin/contacts?page=99999999999999999999", HTTP_HX_REQUEST="true"
    )
    assert response.status_code in (200, 404)


@override_settings(COHORT_COUNT_CAP=100)
def test_count_above_the_cap_says_plus(browser_client, many_contacts):
    assert "Showing 1–50 of 100+ contacts" in results(browser_client)


def test_htmx_request_gets_only_the_results(browser_client, many_contacts):
    response = browser_client.get("/admin/contacts?page=2", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert '<form class="filters"' not in html
    assert "Showing 51–100 of 120 contacts" in html
    assert len(table_rows(html)) == 50


def test_boosted_htmx_request_gets_the_whole_page(browser_client, contact):
    html = browser_client.get(
        "/admin/contacts", HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true"
    ).content.decode()
    assert "<html" in html


def test_history_restore_request_gets_the_whole_page(browser_client, contact):
    html = browser_client.get(
        "/admin/contacts", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    ).content.decode()
    assert "<html" in html


def test_list_query_count_does_not_grow_with_rows(browser_client, admin_user, make_user):
    owners = [admin_user, make_user("second")]
    for n in range(5):
        Contact.objects.create(first_name=f"A{n}", owner=owners[n % 2], country="FR")
    browser_client.get("/admin/contacts")  # warm up per-process caches
    with_5 = queries_for(browser_client, "/admin/contacts")
    Contact.objects.bulk_create(
        Contact(first_name=f"B{n}", owner=owners[n % 2], country="DE") for n in range(45)
    )
    with_50 = queries_for(browser_client, "/admin/contacts")
    assert with_5 == with_50


def test_list_shows_owner_and_country(browser_client, people):
    html = results(browser_client, "?search=hopper")
    row = table_rows(html)[0]
    assert "United States of America" in row
    assert "other" in row
    assert "Customer" in row


# --- Escaping ------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/{id}", "/{id}/edit", "/{id}/delete"])
def test_html_in_a_name_is_escaped(browser_client, admin_user, suffix):
    evil = Contact.objects.create(
        first_name="<script>alert(1)</script>", company="<b>Evil</b> & Co", owner=admin_user
    )
    html = browser_client.get("/admin/contacts" + suffix.format(id=evil.pk)).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>Evil</b>" not in html
