"""The tags UI as signed-in users see it: CRM → Tags, the Tags section of record pages,
the Tag filter and bulk tagging on lists, with each role's permissions checked on the server."""

import html as html_lib
import re

import pytest

from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead
from tags import services
from tags.colors import PALETTE, text_color_for
from tags.models import ContactTag, Tag
from tags.records import TAGGABLE_TYPES
from testing.pages import table_rows

HTMX = {"HTTP_HX_REQUEST": "true"}
SCRIPT = "<script>alert(1)</script>"
ESCAPED_SCRIPT = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def signed_in(request, client, db):
    """`signed_in("rep")`: the test client, logged in as that fixture's user (or anonymous).

    It asks for `db` itself so that pytest-django runs its tests before the transactional
    browser tests, whose flush removes the seeded roles.
    """

    def login(who: str):
        if who != "anonymous":
            client.force_login(request.getfixturevalue(who))
        return client

    return login


@pytest.fixture
def contact(contact, rep) -> Contact:
    """The Sales rep's own contact: a rep tags only records they own (core.ownership)."""
    contact.owner = rep
    contact.save()
    return contact


@pytest.fixture
def lead(db, contact, rep) -> Lead:
    return Lead.objects.create(
        name="Engine order", company="Analytical Engines", contact=contact, owner=rep
    )


@pytest.fixture
def deal(db, contact, rep) -> Deal:
    return Deal.objects.create(title="Difference engine", contact=contact, owner=rep)


@pytest.fixture
def records(contact, lead, deal) -> dict:
    return {"contacts": contact, "leads": lead, "deals": deal}


@pytest.fixture
def enterprise(db) -> Tag:
    return services.create_tag("Enterprise", color="#2563eb")


@pytest.fixture
def saas(db) -> Tag:
    return services.create_tag("saas", color="#ca8a04")


def page(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def first_links(html: str) -> list[str]:
    """The first link text of each table row: the record's name."""
    return [re.search(r'">([^<]*)</a>', row).group(1) for row in table_rows(html)]


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response.url.startswith("/admin/login")


# --- CRM → Tags: who may see and change what ------------------------------------------------

PAGE_ACCESS = [
    ("anonymous", "login"),
    ("nobody", 403),
    ("viewer", 200),
    ("rep", 200),
    ("manager", 200),
    ("admin_user", 200),
]
MANAGE_ACCESS = [
    ("anonymous", "login"),
    ("nobody", 403),
    ("viewer", 403),
    ("rep", 403),
    ("manager", 200),
    ("admin_user", 200),
]


def assert_access(response, expected) -> None:
    if expected == "login":
        assert is_login_redirect(response)
    else:
        assert response.status_code == expected


@pytest.mark.parametrize(("who", "expected"), PAGE_ACCESS)
def test_tags_page_needs_view_permission(signed_in, enterprise, who, expected):
    assert_access(signed_in(who).get("/admin/crm/tags"), expected)


@pytest.mark.parametrize("path", ["/admin/crm/tags", "/admin/crm/tags/"])
def test_tags_page_answers_with_and_without_trailing_slash(browser_client, enterprise, path):
    html = page(browser_client.get(path))
    assert "<h1>Tags</h1>" in html
    assert "Enterprise" in html


@pytest.mark.parametrize(
    "path_of",
    [
        lambda tag: "/admin/crm/tags/new",
        lambda tag: f"/admin/crm/tags/{tag.pk}/edit",
        lambda tag: f"/admin/crm/tags/{tag.pk}/delete",
        lambda tag: f"/admin/crm/tags/{tag.pk}/merge",
    ],
    ids=["new", "edit", "delete", "merge"],
)
@pytest.mark.parametrize(("who", "expected"), MANAGE_ACCESS)
def test_manage_pages_need_manage_permission(signed_in, enterprise, path_of, who, expected):
    client = signed_in(who)
    assert_access(client.get(path_of(enterprise)), expected)
    assert_access(client.get(path_of(enterprise) + "/"), expected)


@pytest.mark.parametrize(
    "path_of",
    [
        lambda tag: "/admin/crm/tags/new",
        lambda tag: f"/admin/crm/tags/{tag.pk}/edit",
        lambda tag: f"/admin/crm/tags/{tag.pk}/delete",
        lambda tag: f"/admin/crm/tags/{tag.pk}/merge",
    ],
    ids=["new", "edit", "delete", "merge"],
)
@pytest.mark.parametrize("who", ["anonymous", "nobody", "viewer", "rep"])
def test_posts_without_manage_permission_change_nothing(signed_in, enterprise, saas, path_of, who):
    data = {"name": "Renamed", "color": "#dc2626", "into": saas.pk, "confirm": "1"}
    response = signed_in(who).post(path_of(enterprise), data)
    assert response.status_code in (302, 403)
    assert response.status_code == 403 or is_login_redirect(response)
    assert list(Tag.objects.values_list("name", flat=True)) == ["Enterprise", "saas"]


def test_buttons_show_only_with_manage_permission(signed_in, enterprise):
    html = page(signed_in("viewer").get("/admin/crm/tags"))
    assert "New Tag" not in html
    assert f"/admin/crm/tags/{enterprise.pk}/edit" not in html
    assert f"/admin/crm/tags/{enterprise.pk}/delete" not in html


def test_manager_sees_new_edit_merge_and_delete(signed_in, enterprise):
    html = page(signed_in("manager").get("/admin/crm/tags"))
    assert '<a class="button primary" href="/admin/crm/tags/new">New Tag</a>' in html
    assert f'href="/admin/crm/tags/{enterprise.pk}/edit">Edit</a>' in html
    assert f'href="/admin/crm/tags/{enterprise.pk}/merge">Merge</a>' in html
    assert f'href="/admin/crm/tags/{enterprise.pk}/delete">Delete</a>' in html


@pytest.mark.parametrize(("who", "shown"), [("viewer", True), ("nobody", False)])
def test_nav_links_to_tags_for_those_who_may_see_them(signed_in, who, shown):
    html = page(signed_in(who).get("/admin/"))
    assert ('href="/admin/crm/tags"' in html) is shown


# --- CRM → Tags: the list --------------------------------------------------------------------


def test_list_shows_chip_usage_counts_and_creation_date(browser_client, enterprise):
    # given counters that differ from the (empty) link tables: the page must read the counters
    Tag.objects.filter(pk=enterprise.pk).update(contacts_count=3, leads_count=2, deals_count=1)

    html = page(browser_client.get("/admin/crm/tags"))

    row = table_rows(html)[0]
    assert 'data-bg="#2563eb" data-fg="#ffffff"' in row
    assert ">Enterprise</a>" in row
    counts = re.findall(r'<td class="num">(?:<a [^>]*>|<strong>)(\d+)</', row)
    assert counts == ["3", "2", "1", "6"]
    assert enterprise.created_at.strftime("%-d %b %Y") in row
    assert f'href="/admin/leads?tag={enterprise.pk}"' in row


def test_list_never_counts_links_and_keeps_its_query_count(browser_client, db):
    for n in range(5):
        services.create_tag(f"first-{n}")
    browser_client.get("/admin/crm/tags")  # warm up per-process caches
    with CaptureQueriesContext(connection) as five:
        browser_client.get("/admin/crm/tags")
    for n in range(45):
        services.create_tag(f"second-{n}")
    with CaptureQueriesContext(connection) as fifty:
        html = page(browser_client.get("/admin/crm/tags"))

    assert len(table_rows(html)) == 50
    assert len(five) == len(fifty)
    sql = " ".join(q["sql"] for q in fifty.captured_queries).lower()
    assert "tags_contacttag" not in sql and "count(" not in sql


def test_search_by_name_ignores_case(browser_client, enterprise, saas):
    html = page(browser_client.get("/admin/crm/tags?search=ENTER"))
    assert "Enterprise" in html
    assert ">saas<" not in html
    assert "No tags match “nothing”." in page(browser_client.get("/admin/crm/tags?search=nothing"))


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("", ["apac", "Enterprise", "saas"]),
        ("name", ["apac", "Enterprise", "saas"]),
        ("-name", ["saas", "Enterprise", "apac"]),
        ("-usage", ["saas", "apac", "Enterprise"]),
        ("usage", ["Enterprise", "apac", "saas"]),
    ],
)
def test_sort_by_name_or_usage(browser_client, enterprise, saas, ordering, expected):
    apac = services.create_tag("apac")
    Tag.objects.filter(pk=saas.pk).update(contacts_count=5, deals_count=4)
    Tag.objects.filter(pk=apac.pk).update(leads_count=3)

    html = page(browser_client.get(f"/admin/crm/tags?ordering={ordering}"))

    assert re.findall(r"data-chip-name>([^<]*)</a>", html) == expected


def test_htmx_search_gets_only_the_results(browser_client, enterprise):
    html = page(browser_client.get("/admin/crm/tags?search=ent", **HTMX))
    assert "<html" not in html
    assert "Showing 1–1 of 1 tags" in html


# --- New Tag and edit -------------------------------------------------------------------------


def test_new_tag_form_offers_the_palette_and_a_custom_colour(signed_in):
    html = page(signed_in("manager").get("/admin/crm/tags/new"))

    assert "<h1>New Tag</h1>" in html
    assert '<label for="id_name">Name' in html
    assert "<legend>Color</legend>" in html
    swatches = re.findall(r'<input type="radio" name="color" value="(#[0-9a-f]{6})"', html)
    assert swatches == [value for value, _ in PALETTE]
    assert len(re.findall(r'name="color" value="#[0-9a-f]{6}" checked', html)) == 1
    assert '<input type="color" name="custom_color"' in html
    assert '<button type="submit" class="button primary">Save</button>' in html


def test_new_tag_is_created_and_listed(signed_in, manager):
    client = signed_in("manager")

    response = client.post(
        "/admin/crm/tags/new",
        {"name": "  hot-lead ", "color": "#DC2626", "description": "Call today"},
    )

    assert response.status_code == 302
    assert response.url == "/admin/crm/tags"
    tag = Tag.objects.get()
    assert (tag.name, tag.color, tag.description, tag.created_by) == (
        "hot-lead",
        "#dc2626",
        "Call today",
        manager,
    )
    assert messages_of(response) == ["Tag “hot-lead” created."]


def test_custom_colour_is_used_when_custom_is_chosen(signed_in):
    signed_in("manager").post(
        "/admin/crm/tags/new", {"name": "custom", "color": "custom", "custom_color": "#12AB3c"}
    )
    assert Tag.objects.get().color == "#12ab3c"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "Enter a name: it cannot be empty or only spaces."),
        ({"name": "   "}, "name", "Enter a name: it cannot be empty or only spaces."),
        ({"name": "x" * 51}, "name", "Use at most 50 characters (this name has 51)."),
        (
            {"name": "ENTERPRISE"},
            "name",
            "A tag named “Enterprise” already exists; names ignore case.",
        ),
        ({"color": "#12345"}, "color", "Enter a colour as #RRGGBB, e.g. #2563eb."),
        ({"color": "red"}, "color", "Enter a colour as #RRGGBB, e.g. #2563eb."),
        ({"color": "custom", "custom_color": "#zzzzzz"}, "color", "Enter a colour as #RRGGBB"),
        ({"color": ""}, "color", "Choose a colour."),
    ],
)
def test_bad_input_reshows_the_form_with_a_clear_message(
    signed_in, enterprise, data, field, message
):
    response = signed_in("manager").post(
        "/admin/crm/tags/new", {"name": "fresh", "color": "#2563eb", **data}
    )

    assert response.status_code == 400
    html = html_lib.unescape(page(response))
    assert f'<p class="field-error">{message}' in html
    assert Tag.objects.count() == 1


def test_form_keeps_what_was_typed_after_an_error(signed_in, enterprise):
    response = signed_in("manager").post(
        "/admin/crm/tags/new", {"name": "enterprise", "color": "#9333ea", "description": "kept"}
    )
    html = page(response)
    assert 'value="enterprise"' in html
    assert 'value="#9333ea" checked' in html
    assert 'value="kept"' in html


def test_edit_page_renames_and_recolours_everywhere_at_once(signed_in, enterprise, contact):
    services.attach_tag(contact, enterprise)
    client = signed_in("manager")
    form = page(client.get(f"/admin/crm/tags/{enterprise.pk}/edit"))
    assert 'value="Enterprise"' in form
    assert 'value="#2563eb" checked' in form
    assert "Used on 1 contact, 0 leads and 0 deals" in form

    response = client.post(
        f"/admin/crm/tags/{enterprise.pk}/edit", {"name": "Key account", "color": "#16a34a"}
    )

    assert response.status_code == 302
    enterprise.refresh_from_db()
    assert (enterprise.name, enterprise.color) == ("Key account", "#16a34a")
    detail = page(client.get(f"/admin/contacts/{contact.pk}"))
    assert f'data-bg="#16a34a" data-fg="{text_color_for("#16a34a")}"' in detail
    assert ">Key account</a>" in detail


def test_edit_may_change_only_the_case_of_its_own_name(signed_in, enterprise):
    response = signed_in("manager").post(
        f"/admin/crm/tags/{enterprise.pk}/edit", {"name": "ENTERPRISE", "color": "#2563eb"}
    )
    assert response.status_code == 302
    assert Tag.objects.get().name == "ENTERPRISE"


def test_edit_refuses_another_tags_name(signed_in, enterprise, saas):
    response = signed_in("manager").post(
        f"/admin/crm/tags/{saas.pk}/edit", {"name": "enterprise", "color": "#2563eb"}
    )
    assert response.status_code == 400
    assert "A tag named “Enterprise” already exists; names ignore case." in html_lib.unescape(
        page(response)
    )
    saas.refresh_from_db()
    assert saas.name == "saas"


def test_unknown_tag_is_404(browser_client, db):
    assert browser_client.get("/admin/crm/tags/999/edit").status_code == 404
    assert browser_client.get("/admin/crm/tags/999/delete").status_code == 404
    assert browser_client.get("/admin/crm/tags/999/merge").status_code == 404


def test_tag_url_is_its_edit_page(enterprise):
    assert enterprise.get_absolute_url() == f"/admin/crm/tags/{enterprise.pk}/edit"


# --- Delete and merge ------------------------------------------------------------------------


def test_delete_confirmation_says_how_many_records_lose_the_tag(signed_in, enterprise, records):
    services.attach_tag(records["contacts"], enterprise)
    services.attach_tag(records["leads"], enterprise)
    other = Contact.objects.create(first_name="Charles", last_name="Babbage")
    services.attach_tag(other, enterprise)

    html = page(signed_in("manager").get(f"/admin/crm/tags/{enterprise.pk}/delete"))

    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "3 records will lose this tag : 2 contacts, 1 lead and 0 deals." in text
    assert "The records themselves are not deleted." in text


def test_delete_removes_the_tag_but_never_the_records(signed_in, enterprise, records):
    for record in records.values():
        services.attach_tag(record, enterprise)

    response = signed_in("manager").post(f"/admin/crm/tags/{enterprise.pk}/delete")

    assert response.status_code == 302
    assert response.url == "/admin/crm/tags"
    assert messages_of(response) == ["Tag “Enterprise” deleted; 3 records lost it."]
    assert not Tag.objects.exists()
    assert (Contact.objects.count(), Lead.objects.count(), Deal.objects.count()) == (1, 1, 1)


def test_merge_page_offers_every_other_tag(signed_in, enterprise, saas):
    html = page(signed_in("manager").get(f"/admin/crm/tags/{enterprise.pk}/merge"))
    assert f'<option value="{saas.pk}">saas</option>' in html
    assert f'<option value="{enterprise.pk}"' not in html


def test_merge_asks_for_confirmation_first(signed_in, enterprise, saas, contact):
    services.attach_tag(contact, enterprise)

    response = signed_in("manager").post(
        f"/admin/crm/tags/{enterprise.pk}/merge", {"into": saas.pk}
    )

    assert response.status_code == 200
    html = page(response)
    assert "1 contact, 0 leads and 0 deals tagged “Enterprise” will be tagged “saas”" in html
    assert '<input type="hidden" name="confirm" value="1">' in html
    assert Tag.objects.count() == 2


def test_confirmed_merge_moves_links_and_collapses_duplicates(signed_in, enterprise, saas, records):
    both = records["contacts"]
    only_source = Contact.objects.create(first_name="Grace", last_name="Hopper")
    for record in (both, only_source, records["deals"]):
        services.attach_tag(record, enterprise)
    services.attach_tag(both, saas)

    response = signed_in("manager").post(
        f"/admin/crm/tags/{enterprise.pk}/merge", {"into": saas.pk, "confirm": "1"}
    )

    assert response.status_code == 302
    assert messages_of(response) == ["Tag “Enterprise” merged into “saas”."]
    assert not Tag.objects.filter(pk=enterprise.pk).exists()
    saas.refresh_from_db()
    assert (saas.contacts_count, saas.leads_count, saas.deals_count) == (2, 0, 1)
    assert ContactTag.objects.filter(tag=saas).count() == 2


@pytest.mark.parametrize(
    ("into", "message"),
    [("", "Choose the tag to merge into."), ("self", "That tag no longer exists")],
)
def test_merge_needs_another_tag(signed_in, enterprise, into, message):
    value = enterprise.pk if into == "self" else into
    response = signed_in("manager").post(
        f"/admin/crm/tags/{enterprise.pk}/merge", {"into": value, "confirm": "1"}
    )
    assert response.status_code == 400
    assert message in page(response)
    assert Tag.objects.filter(pk=enterprise.pk).exists()


# --- Names are text everywhere ---------------------------------------------------------------


def test_a_tag_named_like_a_script_renders_as_text(browser_client, contact):
    tag = services.create_tag(SCRIPT)
    services.attach_tag(contact, tag)
    pages = [
        "/admin/crm/tags",
        f"/admin/crm/tags/{tag.pk}/edit",
        f"/admin/crm/tags/{tag.pk}/delete",
        f"/admin/crm/tags/{tag.pk}/merge",
        f"/admin/contacts/{contact.pk}",
        "/admin/contacts",
        f"/admin/contacts?tag={tag.pk}",
        "/admin/crm/tags/suggest?q=script",
        f"/admin/crm/tags/suggest?q={SCRIPT}&type=contacts&id={contact.pk}",
    ]
    for path in pages:
        html = page(browser_client.get(path))
        assert SCRIPT not in html, path
        assert ESCAPED_SCRIPT in html, path


def test_create_option_escapes_what_was_typed(signed_in, contact):
    html = page(
        signed_in("manager").get(
            "/admin/crm/tags/suggest", {"q": SCRIPT, "type": "contacts", "id": contact.pk}
        )
    )
    assert f"Create tag '{ESCAPED_SCRIPT}'" in html
    assert f'data-create="{ESCAPED_SCRIPT}"' in html


# --- The Tags section on contact, lead and deal pages -----------------------------------------

RECORD_TYPES = ["contacts", "leads", "deals"]


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_record_page_has_a_tags_section_with_chips_and_a_picker(
    signed_in, records, enterprise, record_type
):
    record = records[record_type]
    services.attach_tag(record, enterprise)

    html = page(signed_in("rep").get(f"/admin/{record_type}/{record.pk}"))

    section = re.search(r'<section class="panel tags-section".*?</section>', html, re.S).group(0)
    assert "<h2" in section and ">Tags</h2>" in section
    assert (
        f'href="/admin/{record_type}?tag={enterprise.pk}" data-chip-name>Enterprise</a>' in section
    )
    assert f'action="/admin/{record_type}/{record.pk}/tags/{enterprise.pk}/remove"' in section
    assert ">×</button>" in section
    assert 'role="combobox"' in section
    assert 'placeholder="Add a tag…"' in section  # a rep may attach, not create
    assert "/static/tags/tags.js" in html


def test_manager_is_told_they_can_create_tags(signed_in, contact):
    html = page(signed_in("manager").get(f"/admin/contacts/{contact.pk}"))
    assert 'placeholder="Add or create a tag…"' in html


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_viewer_sees_chips_but_no_cross_and_no_input(signed_in, records, enterprise, record_type):
    record = records[record_type]
    services.attach_tag(record, enterprise)

    html = page(signed_in("viewer").get(f"/admin/{record_type}/{record.pk}"))

    assert ">Enterprise</a>" in html
    assert "×" not in html
    assert 'role="combobox"' not in html


def test_record_without_tags_says_so(browser_client, contact):
    assert "No tags yet." in page(browser_client.get(f"/admin/contacts/{contact.pk}"))


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_picking_a_tag_attaches_it_and_returns_the_section(
    signed_in, records, enterprise, record_type
):
    record = records[record_type]

    response = signed_in("rep").post(
        f"/admin/{record_type}/{record.pk}/tags", {"tag_id": enterprise.pk}, **HTMX
    )

    assert response.status_code == 200
    html = page(response)
    assert html.lstrip().startswith('<section class="panel tags-section"')
    assert "<html" not in html
    assert ">Enterprise</a>" in html
    assert " autofocus>" in html  # the cursor goes back to the picker for the next tag
    assert list(services.record_tags(record)) == [enterprise]
    enterprise.refresh_from_db()
    assert enterprise.total_count == 1


def test_attaching_twice_changes_nothing(signed_in, contact, enterprise):
    client = signed_in("rep")
    for _ in range(2):
        client.post(f"/admin/contacts/{contact.pk}/tags", {"tag_id": enterprise.pk}, **HTMX)
    enterprise.refresh_from_db()
    assert enterprise.contacts_count == 1


def test_attach_without_javascript_goes_back_to_the_record(signed_in, contact, enterprise):
    response = signed_in("rep").post(f"/admin/contacts/{contact.pk}/tags", {"q": "enterprise"})
    assert response.status_code == 302
    assert response.url == f"/admin/contacts/{contact.pk}"
    assert list(services.record_tags(contact)) == [enterprise]


@pytest.mark.parametrize(
    ("who", "expected"), [("anonymous", "login"), ("nobody", 403), ("viewer", 403)]
)
@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_attaching_needs_the_records_change_permission(
    signed_in, records, enterprise, record_type, who, expected
):
    record = records[record_type]
    response = signed_in(who).post(
        f"/admin/{record_type}/{record.pk}/tags", {"tag_id": enterprise.pk}, **HTMX
    )
    assert_access(response, expected)
    assert not services.record_tags(record).exists()


def test_manager_creates_and_attaches_a_new_tag_in_one_step(signed_in, manager, contact):
    response = signed_in("manager").post(
        f"/admin/contacts/{contact.pk}/tags", {"name": " brand new "}, **HTMX
    )

    assert response.status_code == 200
    tag = Tag.objects.get()
    assert (tag.name, tag.created_by, tag.contacts_count) == ("brand new", manager, 1)
    assert tag.color in {value for value, _ in PALETTE}
    assert ">brand new</a>" in page(response)


def test_rep_may_not_create_tags_inline(signed_in, contact):
    response = signed_in("rep").post(
        f"/admin/contacts/{contact.pk}/tags", {"name": "brand new"}, **HTMX
    )
    assert response.status_code == 403
    assert not Tag.objects.exists()


def test_rep_attaching_by_name_gets_the_existing_tag_whatever_the_case(
    signed_in, contact, enterprise
):
    response = signed_in("rep").post(
        f"/admin/contacts/{contact.pk}/tags", {"name": "ENTERPRISE"}, **HTMX
    )
    assert response.status_code == 200
    assert list(services.record_tags(contact)) == [enterprise]
    assert Tag.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "x" * 51}, "at most 50 characters"),
        ({"name": "   "}, "Enter a name: it cannot be empty or only spaces."),
        ({"tag_id": "999"}, "That tag no longer exists."),
    ],
)
def test_bad_inline_input_shows_an_error_in_the_section(signed_in, contact, data, message):
    response = signed_in("manager").post(f"/admin/contacts/{contact.pk}/tags", data, **HTMX)
    assert response.status_code == 400
    html = page(response)
    assert 'role="alert"' in html
    assert message in html
    assert not Tag.objects.exists()


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_cross_detaches_the_tag_but_keeps_it(signed_in, records, enterprise, saas, record_type):
    record = records[record_type]
    services.attach_tag(record, enterprise)
    services.attach_tag(record, saas)

    response = signed_in("rep").post(
        f"/admin/{record_type}/{record.pk}/tags/{enterprise.pk}/remove", **HTMX
    )

    assert response.status_code == 200
    html = page(response)
    assert ">Enterprise</a>" not in html
    assert ">saas</a>" in html
    assert " autofocus" not in html
    assert list(services.record_tags(record)) == [saas]
    enterprise.refresh_from_db()
    assert enterprise.total_count == 0


def test_detach_without_javascript_goes_back_to_the_record(signed_in, contact, enterprise):
    services.attach_tag(contact, enterprise)
    response = signed_in("rep").post(f"/admin/contacts/{contact.pk}/tags/{enterprise.pk}/remove/")
    assert response.url == f"/admin/contacts/{contact.pk}"
    assert not services.record_tags(contact).exists()


@pytest.mark.parametrize(
    ("who", "expected"), [("anonymous", "login"), ("nobody", 403), ("viewer", 403)]
)
def test_detaching_needs_the_change_permission(signed_in, contact, enterprise, who, expected):
    services.attach_tag(contact, enterprise)
    response = signed_in(who).post(
        f"/admin/contacts/{contact.pk}/tags/{enterprise.pk}/remove", **HTMX
    )
    assert_access(response, expected)
    assert list(services.record_tags(contact)) == [enterprise]


def test_tag_endpoints_of_unknown_records_are_404(browser_client, enterprise):
    assert (
        browser_client.post("/admin/contacts/999/tags", {"tag_id": enterprise.pk}).status_code
        == 404
    )
    assert browser_client.post(f"/admin/leads/999/tags/{enterprise.pk}/remove").status_code == 404
    assert browser_client.post("/admin/activities/1/tags", {"tag_id": 1}).status_code == 404


def test_section_can_be_fetched_on_its_own(signed_in, contact, enterprise):
    services.attach_tag(contact, enterprise)
    response = signed_in("viewer").get(f"/admin/contacts/{contact.pk}/tags", **HTMX)
    assert response.status_code == 200
    assert ">Enterprise</a>" in page(response)


# --- Suggestions for the pickers ------------------------------------------------------------


def suggested(client, **params) -> list[str]:
    html = page(client.get("/admin/crm/tags/suggest", params))
    return [html_lib.unescape(n) for n in re.findall(r'data-tag-name="([^"]*)"', html)]


def test_suggestions_match_case_insensitively_prefix_first(signed_in, db):
    for name in ["Mid-enterprise", "Other", "entry", "Enterprise"]:
        services.create_tag(name)
    assert suggested(signed_in("rep"), q="ENT") == ["Enterprise", "entry", "Mid-enterprise"]


def test_suggestions_leave_out_tags_already_on_the_record(signed_in, contact, enterprise, saas):
    services.attach_tag(contact, saas)
    client = signed_in("rep")
    assert suggested(client, q="", type="contacts", id=contact.pk) == ["Enterprise"]
    assert suggested(client, q="s", type="contacts", id=contact.pk) == ["Enterprise"]
    html = page(
        client.get("/admin/crm/tags/suggest", {"q": "SaaS", "type": "contacts", "id": contact.pk})
    )
    assert "'SaaS' is already on this record." in html


def test_suggestions_show_each_tags_colours(signed_in, enterprise):
    html = page(signed_in("rep").get("/admin/crm/tags/suggest", {"q": "ent"}))
    assert 'data-tag-color="#2563eb" data-tag-text="#ffffff"' in html
    assert f'data-tag-id="{enterprise.pk}" data-tag-slug="enterprise"' in html
    assert 'role="option"' in html


def create_offered(client, query, contact) -> bool:
    html = page(
        client.get("/admin/crm/tags/suggest", {"q": query, "type": "contacts", "id": contact.pk})
    )
    return "Create tag '" in html


@pytest.mark.parametrize(
    ("who", "offered"), [("manager", True), ("admin_user", True), ("rep", False)]
)
def test_create_option_only_for_users_who_manage_tags(signed_in, contact, enterprise, who, offered):
    client = signed_in(who)
    assert create_offered(client, "xyz", contact) is offered
    assert create_offered(client, "enterprise", contact) is False  # an exact match exists
    assert create_offered(client, "ENTERPRISE", contact) is False


def test_rep_is_told_why_there_is_no_create_option(signed_in, contact):
    html = page(
        signed_in("rep").get(
            "/admin/crm/tags/suggest", {"q": "xyz", "type": "contacts", "id": contact.pk}
        )
    )
    assert "No tag named 'xyz'. Only people who manage tags can create one." in html


def test_no_create_option_outside_a_record_or_for_long_names(signed_in, contact):
    client = signed_in("manager")
    assert "Create tag" not in page(client.get("/admin/crm/tags/suggest", {"q": "xyz"}))
    html = page(
        client.get("/admin/crm/tags/suggest", {"q": "x" * 51, "type": "contacts", "id": contact.pk})
    )
    assert "Create tag" not in html
    assert "Tag names have at most 50 characters." in html


@pytest.mark.parametrize(
    ("who", "expected"), [("anonymous", "login"), ("nobody", 403), ("viewer", 200)]
)
def test_suggestions_need_view_permission(signed_in, who, expected, db):
    assert_access(signed_in(who).get("/admin/crm/tags/suggest?q=a"), expected)


# --- Tag chips and the Tag filter on the lists ------------------------------------------------


def tag_contacts(tags_by_name: dict[str, Tag], owner=None) -> dict[str, Contact]:
    """Four contacts: tagged a and b, a only, b only, and none."""
    a, b = tags_by_name["a"], tags_by_name["b"]
    people = {}
    for last_name, tags in [("Both", [a, b]), ("OnlyA", [a]), ("OnlyB", [b]), ("Neither", [])]:
        person = Contact.objects.create(
            first_name="Test", last_name=last_name, country="GB", owner=owner
        )
        for tag in tags:
            services.attach_tag(person, tag)
        people[last_name] = person
    return people


@pytest.fixture
def ab(db) -> dict[str, Tag]:
    return {"a": services.create_tag("alpha"), "b": services.create_tag("beta")}


def surnames(client, query: str) -> list[str]:
    html = page(client.get(f"/admin/contacts?ordering=last_name&{query}", **HTMX))
    return [name.split()[-1] for name in first_links(html)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("tag=alpha", ["Both", "OnlyA"]),
        ("tag=alpha&tag=beta", ["Both"]),
        ("tag=alpha&tag=beta&tag_match=all", ["Both"]),
        ("tag=alpha&tag=beta&tag_match=any", ["Both", "OnlyA", "OnlyB"]),
        ("tag=alpha&tag=beta&tag_match=none", ["Neither"]),
        ("tag=alpha&tag_match=none", ["Neither", "OnlyB"]),
        ("tagged=false", ["Neither"]),
        ("tagged=true", ["Both", "OnlyA", "OnlyB"]),
        ("tag=beta&search=only", ["OnlyB"]),
    ],
)
def test_tag_filter_all_any_none(browser_client, ab, query, expected):
    tag_contacts(ab)
    assert surnames(browser_client, query) == expected


def test_tag_filter_accepts_ids_as_chips_link_them(browser_client, ab):
    tag_contacts(ab)
    assert surnames(browser_client, f"tag={ab['a'].pk}") == ["Both", "OnlyA"]


def test_filter_form_shows_the_chosen_tags_as_chips(browser_client, ab):
    html = page(browser_client.get("/admin/contacts?tag=alpha&tag=beta&tag_match=any"))

    assert 'id="tag-filter-label">Tag filter</span>' in html
    assert '<input type="hidden" name="tag" value="alpha">' in html
    assert '<input type="hidden" name="tag" value="beta">' in html
    assert '<option value="">All of (default)</option>' in html
    assert '<option value="any" selected>Any of</option>' in html
    assert '<option value="none">None of</option>' in html
    assert 'hx-params="not q"' in html  # the picker's text is not a filter
    assert '<select name="tag" multiple' not in html


def test_unknown_tag_in_the_filter_is_an_error(browser_client, ab):
    html = page(browser_client.get("/admin/contacts?tag=nope"))
    assert "Unknown tag: nope." in html


def test_tag_filter_survives_paging(browser_client, ab):
    Contact.objects.bulk_create(
        Contact(first_name=f"P{n}", last_name=f"S{n:03}") for n in range(60)
    )
    services.bulk_tag(TAGGABLE_TYPES["contacts"], Contact.objects.all(), add=[ab["a"]])

    html = page(browser_client.get("/admin/contacts?tag=alpha&tag=beta&tag_match=any", **HTMX))

    assert "Showing 1–50 of 60 contacts" in html
    assert 'href="?tag=alpha&amp;tag=beta&amp;tag_match=any&amp;page=2"' in html


@pytest.mark.parametrize("record_type", ["leads", "deals"])
def test_leads_and_deals_filter_by_tag_too(browser_client, records, enterprise, record_type):
    services.attach_tag(records[record_type], enterprise)
    model = type(records[record_type])
    other = model.objects.create(
        **({"name": "Untagged"} if model is Lead else {"title": "Untagged"})
    )

    html = page(browser_client.get(f"/admin/{record_type}?tag=enterprise", **HTMX))

    assert first_links(html) == [str(records[record_type])]
    assert str(other) not in html


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_list_rows_show_tag_chips_linking_to_the_filtered_list(
    browser_client, records, enterprise, record_type
):
    services.attach_tag(records[record_type], enterprise)
    html = page(browser_client.get(f"/admin/{record_type}"))
    row = table_rows(html)[0]
    assert f'href="/admin/{record_type}?tag={enterprise.pk}" data-chip-name>Enterprise</a>' in row
    assert '<th scope="col">Tags</th>' in html


def make_records(record_type: str, count: int, prefix: str):
    if record_type == "contacts":
        return Contact.objects.bulk_create(Contact(first_name=f"{prefix}{n}") for n in range(count))
    if record_type == "leads":
        return Lead.objects.bulk_create(Lead(name=f"{prefix}{n}") for n in range(count))
    return Deal.objects.bulk_create(Deal(title=f"{prefix}{n}") for n in range(count))


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_list_query_count_with_tags_does_not_grow_with_rows(browser_client, ab, record_type):
    taggable = TAGGABLE_TYPES[record_type]
    make_records(record_type, 5, "A")
    services.bulk_tag(taggable, taggable.model.objects.all(), add=list(ab.values()))
    url = f"/admin/{record_type}?tag_match=any&tag=alpha&tag=beta"
    browser_client.get(url)  # warm up per-process caches
    with CaptureQueriesContext(connection) as five:
        html_5 = page(browser_client.get(url))
    make_records(record_type, 45, "B")
    services.bulk_tag(taggable, taggable.model.objects.all(), add=list(ab.values()))
    with CaptureQueriesContext(connection) as fifty:
        html_50 = page(browser_client.get(url))

    assert html_5.count("data-chip-name>alpha</a>") == 5
    assert html_50.count("data-chip-name>beta</a>") == 50
    assert len(five) == len(fifty)


# --- Bulk actions ------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "shown"), [("rep", True), ("manager", True), ("viewer", False)])
def test_bulk_bar_and_row_checkboxes_for_those_who_may_change_records(
    signed_in, contact, who, shown
):
    html = page(signed_in(who).get("/admin/contacts"))
    assert ('<form id="bulk-tags"' in html) is shown
    assert (f'name="ids" value="{contact.pk}" form="bulk-tags"' in html) is shown
    if shown:
        assert "Select all 1 matching this filter" in html
        assert (
            '<button type="submit" name="op" value="add" class="button">Add tags</button>' in html
        )
        assert (
            '<button type="submit" name="op" value="remove" class="button">Remove tags</button>'
            in html
        )


def test_bulk_bar_carries_the_current_filter(browser_client, contact):
    html = page(browser_client.get("/admin/contacts?country=GB&tag_match=any", **HTMX))
    assert '<input type="hidden" name="query" value="country=GB&amp;tag_match=any">' in html


def test_bulk_add_by_ids(signed_in, rep, ab, enterprise):
    people = tag_contacts(ab, owner=rep)
    chosen = [people["Both"].pk, people["Neither"].pk]

    response = signed_in("rep").post(
        "/admin/contacts/bulk-tags",
        {"op": "add", "tags": [enterprise.pk], "ids": chosen, "query": "country=GB&page=1"},
    )

    assert response.status_code == 302
    assert response.url == "/admin/contacts?country=GB&page=1"
    assert messages_of(response) == ["Added 'Enterprise' to 2 contacts."]
    tagged = ContactTag.objects.filter(tag=enterprise).values_list("record_id", flat=True)
    assert sorted(tagged) == sorted(chosen)
    enterprise.refresh_from_db()
    assert enterprise.contacts_count == 2


def test_bulk_remove_by_ids(signed_in, rep, ab):
    people = tag_contacts(ab, owner=rep)

    response = signed_in("rep").post(
        "/admin/contacts/bulk-tags",
        {
            "op": "remove",
            "tags": [ab["a"].pk, ab["b"].pk],
            "ids": [people["Both"].pk, people["OnlyA"].pk],
        },
    )

    assert messages_of(response) == ["Removed 'alpha' from 2 contacts and 'beta' from 1 contact."]
    assert surnames(signed_in("rep"), "tagged=true") == ["OnlyB"]
    ab["a"].refresh_from_db()
    assert ab["a"].contacts_count == 0


def test_bulk_add_to_all_matching_the_filter(signed_in, ab, enterprise):
    tag_contacts(ab)
    Contact.objects.create(first_name="Far", last_name="Away", country="US")
    for n in range(3):
        Contact.objects.create(first_name="Also", last_name=f"Away{n}", country="US")

    response = signed_in("manager").post(
        "/admin/contacts/bulk-tags",
        {
            "op": "add",
            "tags": [enterprise.pk],
            "all_matching": "1",
            "ids": ["1"],  # ignored: "all matching" wins
            "query": "country=GB&tag=alpha&tag=beta&tag_match=any",
        },
    )

    assert messages_of(response) == ["Added 'Enterprise' to 3 contacts."]
    tagged = Contact.objects.filter(tags=enterprise).values_list("last_name", flat=True)
    assert sorted(tagged) == ["Both", "OnlyA", "OnlyB"]


def test_bulk_remove_from_all_matching_the_filter(signed_in, rep, ab):
    tag_contacts(ab, owner=rep)
    response = signed_in("rep").post(
        "/admin/contacts/bulk-tags",
        {"op": "remove", "tags": [ab["b"].pk], "all_matching": "1", "query": "search=only"},
    )
    assert messages_of(response) == ["Removed 'beta' from 1 contact."]
    assert surnames(signed_in("rep"), "tag=beta") == ["Both"]


@pytest.mark.parametrize("record_type", ["leads", "deals"])
def test_bulk_tagging_leads_and_deals(signed_in, records, enterprise, record_type):
    record = records[record_type]
    response = signed_in("rep").post(
        f"/admin/{record_type}/bulk-tags",
        {"op": "add", "tags": [enterprise.pk], "all_matching": "1"},
    )
    noun = "lead" if record_type == "leads" else "deal"
    assert messages_of(response) == [f"Added 'Enterprise' to 1 {noun}."]
    assert response.url == f"/admin/{record_type}"
    assert list(services.record_tags(record)) == [enterprise]


@pytest.mark.parametrize(
    ("op", "pick_tag", "tick_row", "message"),
    [
        ("add", False, True, "Pick at least one tag."),
        ("add", True, False, "Select at least one row, or all rows matching the filter."),
        ("rename", True, True, "Select a valid choice."),
    ],
)
def test_bulk_without_tags_or_rows_changes_nothing(
    signed_in, contact, enterprise, op, pick_tag, tick_row, message
):
    data = {"op": op, "tags": [enterprise.pk] if pick_tag else [], "ids": []}
    if tick_row:
        data["ids"] = [contact.pk]

    response = signed_in("rep").post("/admin/contacts/bulk-tags", data)

    assert response.status_code == 302
    assert any(message in m for m in messages_of(response))
    assert not ContactTag.objects.exists()


def test_bulk_with_an_unknown_tag_changes_nothing(signed_in, contact):
    response = signed_in("rep").post(
        "/admin/contacts/bulk-tags", {"op": "add", "tags": ["999"], "ids": [contact.pk]}
    )
    assert messages_of(response) == ["Unknown tag 999: it may have been deleted."]
    assert not ContactTag.objects.exists()


def test_bulk_with_an_invalid_filter_changes_nothing(signed_in, contact, enterprise):
    response = signed_in("rep").post(
        "/admin/contacts/bulk-tags",
        {"op": "add", "tags": [enterprise.pk], "all_matching": "1", "query": "country=XX"},
    )
    assert messages_of(response) == ["The list's filter is not valid; nothing was changed."]
    assert not ContactTag.objects.exists()


@pytest.mark.parametrize(
    ("who", "expected"), [("anonymous", "login"), ("nobody", 403), ("viewer", 403)]
)
@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_bulk_tagging_needs_the_change_permission(
    signed_in, records, enterprise, record_type, who, expected
):
    response = signed_in(who).post(
        f"/admin/{record_type}/bulk-tags",
        {"op": "add", "tags": [enterprise.pk], "all_matching": "1"},
    )
    assert_access(response, expected)
    enterprise.refresh_from_db()
    assert enterprise.total_count == 0


def test_bulk_tags_only_answers_post(browser_client, db):
    assert browser_client.get("/admin/contacts/bulk-tags").status_code == 405
