"""Hostile input, Unicode: emoji, right-to-left text, combining marks, zero-width
characters and the NUL byte.

Text is stored and shown back exactly as sent (no normalising, no mangling), through
the API and the pages — except tag names, stored in NFKC and refusing invisible
characters (tags.names); it can be searched, filtered on and used in criteria. NUL
cannot be stored (PostgreSQL refuses it in text and jsonb), so every way in refuses
it with a 400 or a form error that says so, on both databases, and writes nothing.
"""

import csv
import io
import json
import unicodedata

import pytest

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape

from activities.models import Activity
from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead
from segments.models import Segment
from tags.models import ContactTag, Tag

TEXTS = {
    "emoji": "Zoë 👩‍👩‍👧‍👦 🇺🇸 🏳️‍🌈 𝔘𝔫𝔦",
    "rtl": "שלום مرحبا \u202eevil\u202c",
    "combining": "e\u0301 Z\u0351\u0333a\u0300 n\u0303",
    "zero-width": "ab\u200bcd\u200c\u200d\u2060\ufeffe",
    "non-latin-case": "ΣΊΣΥΦΟΣ straße İstanbul",
}
NUL = "Ann\x00Bob"
# Tag names refuse invisible characters (emoji joiners aside) and are stored in NFKC (#15 L4,
# L5): the same texts without them, and how they are stored.
TAG_TEXTS = {
    **TEXTS,
    "rtl": "שלום مرحبا evil",
    "zero-width": "abcde",
}
STORED_TAG = {key: unicodedata.normalize("NFKC", text) for key, text in TAG_TEXTS.items()}


def row_counts() -> dict[str, int]:
    models = (Contact, Lead, Deal, Activity, Tag, ContactTag, Segment)
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


# --- stored and shown back identically --------------------------------------------------------


@pytest.mark.parametrize("key", TEXTS)
def test_text_round_trips_through_the_api_and_the_pages(api, browser_client, key):
    text, tag_name = TEXTS[key], STORED_TAG[key]
    created = api.post(
        "/api/crm/contacts",
        {"first_name": text, "company": text, "city": text, "email": "u@example.com"},
        format="json",
    )
    assert created.status_code == 201, created.content
    contact_id = created.json()["id"]
    tag = api.post("/api/crm/tags", {"name": TAG_TEXTS[key], "description": text}, format="json")
    assert tag.status_code == 201, tag.content
    tag_id = tag.json()["id"]
    api.post(f"/api/crm/contacts/{contact_id}/tags", {"tag_id": tag_id}, format="json")

    body = api.get(f"/api/crm/contacts/{contact_id}").json()
    assert (body["first_name"], body["company"], body["city"]) == (text, text, text)
    assert body["tags"][0]["name"] == tag_name
    assert Tag.objects.get().name == tag_name  # in NFKC, not trimmed inside

    for url in (
        f"/admin/contacts/{contact_id}",
        "/admin/contacts",
        f"/admin/contacts/{contact_id}/edit",
    ):
        assert escape(text) in browser_client.get(url).content.decode(), url
    for url in (
        f"/admin/contacts/{contact_id}",
        "/admin/crm/tags",
        f"/admin/crm/tags/{tag_id}/edit",
    ):
        assert escape(tag_name) in browser_client.get(url).content.decode(), url


@pytest.mark.parametrize("key", TEXTS)
def test_text_round_trips_through_the_forms(browser_client, key):
    text = TEXTS[key]
    response = browser_client.post(
        "/admin/contacts/new",
        {"first_name": text, "last_name": text, "lifecycle_stage": "lead", "lead_score": "0"},
    )
    assert response.status_code == 302, response.content
    response = browser_client.post(
        "/admin/crm/tags/new", {"name": TAG_TEXTS[key], "color": "#2563eb"}
    )
    assert response.status_code == 302, response.content
    criteria = {"match": "all", "conditions": [{"field": "last_name", "operator": "equals"}]}
    criteria["conditions"][0]["value"] = text
    response = browser_client.post(
        "/admin/crm-segments/new",
        {"name": text, "description": text, "criteria": json.dumps(criteria)},
    )
    assert response.status_code == 302, response.content

    contact, segment = Contact.objects.get(), Segment.objects.get()
    assert (contact.first_name, contact.last_name) == (text, text)
    assert Tag.objects.get().name == STORED_TAG[key]
    assert (segment.name, segment.description) == (text, text)
    assert segment.criteria["conditions"][0]["value"] == text
    page = browser_client.get(f"/admin/crm-segments/{segment.pk}").content.decode()
    assert escape(text) in page


@pytest.mark.parametrize("text", TEXTS.values(), ids=TEXTS.keys())
def test_text_is_found_by_search_filters_and_criteria(api, browser_client, admin_user, text):
    target = Contact.objects.create(first_name=text, company=text, email="t@example.com")
    Contact.objects.create(first_name="Other", company="Else", email="o@example.com")
    tag = Tag.objects.create(name=text, slug="unicode-tag", color="#2563eb")
    ContactTag.objects.create(record=target, tag=tag)
    word = text.split()[0]

    found = api.get("/api/crm/contacts", {"search": word}).json()["results"]
    assert [c["id"] for c in found] == [target.pk]
    page = browser_client.get("/admin/contacts", {"search": word}).content.decode()
    assert escape(text) in page and "o@example.com" not in page
    by_tag = api.get("/api/crm/contacts", {"tag": "unicode-tag"}).json()["results"]
    assert [c["id"] for c in by_tag] == [target.pk]
    tags = api.get("/api/crm/tags", {"search": word}).json()["results"]
    assert [t["id"] for t in tags] == [tag.pk]
    suggest = browser_client.get("/admin/crm/tags/suggest", {"q": word}).content.decode()
    assert escape(text) in suggest

    for operator, value in (("equals", text), ("contains", word), ("starts_with", word)):
        criteria = {
            "match": "all",
            "conditions": [{"field": "company", "operator": operator, "value": value}],
        }
        preview = api.post("/api/crm/segments/preview", {"criteria": criteria}, format="json")
        assert preview.status_code == 200, preview.content
        assert preview.json()["count"] == 1, (operator, value)


@pytest.mark.parametrize("key", TEXTS)
def test_text_round_trips_through_csv_import_and_export(browser_client, api, uploads_in_tmp, key):
    text, tag_name = TEXTS[key], STORED_TAG[key]
    out = io.StringIO()
    csv.writer(out).writerow(["first_name", "company", "email", "tags"])
    csv.writer(out).writerow([text, text, "csv@example.com", TAG_TEXTS[key]])
    upload = SimpleUploadedFile("u.csv", out.getvalue().encode(), content_type="text/csv")

    response = api.post(
        "/api/crm/contacts/import", {"file": upload, "dry_run": "false"}, format="multipart"
    )

    assert response.status_code == 200, response.content
    contact = Contact.objects.get()
    assert (contact.first_name, contact.company) == (text, text)
    assert [t.name for t in contact.tags.all()] == [tag_name]
    exported = b"".join(browser_client.get("/admin/contacts/export.csv").streaming_content)
    row = next(csv.DictReader(io.StringIO(exported.decode("utf-8"))))
    assert (row["first_name"], row["company"], row["tags"]) == (text, text, tag_name)


# --- NUL is refused everywhere, clearly ---------------------------------------------------------


API_WRITES = [
    ("post", "/api/crm/contacts", {"first_name": NUL}, "first_name"),
    ("post", "/api/crm/contacts", {"first_name": "A", "city": NUL}, "city"),
    ("patch", "/api/crm/contacts/{contact}", {"company": NUL}, "company"),
    ("post", "/api/crm/leads", {"name": NUL}, "name"),
    ("post", "/api/crm/deals", {"title": NUL}, "title"),
    (
        "post",
        "/api/crm/activities",
        {"subject": "s", "notes": NUL, "contact": "{contact}"},
        "notes",
    ),
    ("post", "/api/crm/tags", {"name": NUL}, "name"),
    ("post", "/api/crm/tags", {"name": "t", "description": NUL}, "description"),
    ("post", "/api/crm/contacts/{contact}/tags", {"name": NUL}, "name"),
    ("post", "/api/crm/segments", {"name": NUL}, "name"),
    ("post", "/api/crm/segments", {"name": "s", "description": NUL}, "description"),
]


@pytest.mark.parametrize(("method", "url", "body", "field"), API_WRITES)
def test_nul_through_the_api_is_a_400_naming_the_field(api, contact, method, url, body, field):
    before = row_counts()
    url = url.replace("{contact}", str(contact.pk))
    body = {k: contact.pk if v == "{contact}" else v for k, v in body.items()}

    response = getattr(api, method)(url, body, format="json")

    assert response.status_code == 400, response.content
    assert "Null characters are not allowed" in " ".join(response.json()[field])
    assert row_counts() == before
    contact.refresh_from_db()
    assert "\x00" not in contact.company


CRITERIA_WITH_NUL = [
    {"field": "city", "operator": "equals", "value": NUL},
    {"field": "company", "operator": "contains", "value": NUL},
    {"field": "last_name", "operator": "starts_with", "value": NUL},
    {"field": "email", "operator": "in", "value": ["a@x.example", NUL]},
]


@pytest.mark.parametrize("condition", CRITERIA_WITH_NUL, ids=lambda c: c["operator"])
def test_nul_in_criteria_values_is_refused_with_the_path(api, browser_client, condition):
    criteria = {"match": "all", "conditions": [condition]}
    before = row_counts()

    created = api.post("/api/crm/segments", {"name": "n", "criteria": criteria}, format="json")
    preview = api.post("/api/crm/segments/preview", {"criteria": criteria}, format="json")
    form = browser_client.post(
        "/admin/crm-segments/new", {"name": "n", "criteria": json.dumps(criteria)}
    )
    fragment = browser_client.post(
        "/admin/crm-segments/preview", {"criteria": json.dumps(criteria)}, HTTP_HX_REQUEST="true"
    )

    for response in (created, preview):
        assert response.status_code == 400, response.content
        assert "conditions[0].value" in response.json()["criteria"][0]
        assert "null character" in response.json()["criteria"][0]
    assert (form.status_code, fragment.status_code) == (400, 400)
    assert "null character" in form.content.decode()
    assert row_counts() == before


FORM_WRITES = [
    ("/admin/contacts/new", {"first_name": NUL, "lifecycle_stage": "lead", "lead_score": "0"}),
    ("/admin/leads/new", {"name": NUL, "status": "new", "score": "0"}),
    ("/admin/deals/new", {"title": NUL, "value": "1", "currency": "USD", "stage": "won"}),
    ("/admin/crm/tags/new", {"name": NUL, "color": "#2563eb"}),
    ("/admin/crm-segments/new", {"name": NUL}),
    ("/admin/crm-segments/new", {"name": "s", "description": NUL}),
]


@pytest.mark.parametrize(("url", "data"), FORM_WRITES)
def test_nul_through_a_form_is_a_form_error(browser_client, url, data):
    before = row_counts()

    response = browser_client.post(url, data)

    assert response.status_code == 400
    assert "Null characters are not allowed" in response.content.decode()
    assert row_counts() == before


def test_nul_in_a_tag_typed_on_a_record_page_is_refused(browser_client, contact):
    before = row_counts()

    for data in ({"name": NUL}, {"q": NUL}):
        htmx = browser_client.post(
            f"/admin/contacts/{contact.pk}/tags", data, HTTP_HX_REQUEST="true"
        )
        assert htmx.status_code == 400
        assert "Null characters are not allowed" in htmx.content.decode()
        plain = browser_client.post(f"/admin/contacts/{contact.pk}/tags", data, follow=True)
        assert "Null characters are not allowed" in plain.content.decode()
    activity = browser_client.post(
        f"/admin/contacts/{contact.pk}/activities",
        {"kind": "note", "subject": NUL, "occurred_at": "2026-01-01 10:00"},
        HTTP_HX_REQUEST="true",
    )
    assert activity.status_code == 400
    assert row_counts() == before


READS = [
    ("/admin/contacts", "search"),
    ("/admin/leads", "search"),
    ("/admin/deals", "search"),
    ("/admin/contacts", "tag"),
    ("/admin/contacts", "owner"),
    ("/admin/contacts", "country"),
    ("/admin/contacts", "ordering"),
    ("/admin/contacts", "page"),
    ("/admin/crm/tags", "search"),
    ("/admin/crm/tags/suggest", "q"),
    ("/admin/crm-segments", "search"),
    ("/admin/crm-segments/{segment}", "search"),
    ("/admin/crm-segments/{segment}/contact-search", "q"),
    ("/admin/contacts/export.csv", "search"),
    ("/admin/contacts/export.csv", "tag"),
    ("/admin/crm/tags/export.csv", "search"),
    ("/api/crm/contacts", "search"),
    ("/api/crm/contacts", "tag"),
    ("/api/crm/contacts", "ordering"),
    ("/api/crm/leads", "search"),
    ("/api/crm/deals", "search"),
    ("/api/crm/activities", "search"),
    ("/api/crm/tags", "search"),
    ("/api/crm/segments", "search"),
    ("/api/crm/segments/{segment}/contacts", "search"),
    ("/api/crm/contacts/export.csv", "search"),
]


@pytest.fixture
def segment(admin_user, contact):
    from segments import services

    return services.create_segment(name="all", user=admin_user)


@pytest.mark.parametrize("value", [NUL, "\x00", "a\x00%"], ids=["inner", "alone", "wildcard"])
def test_nul_in_search_and_filter_params_is_a_400_that_says_so(
    browser_client, api, contact, segment, value
):
    """No stored text holds NUL, and PostgreSQL cannot even compare one (it was a 500)."""
    for url, param in READS:
        url = url.replace("{segment}", str(segment.pk))
        client = api if url.startswith("/api/") else browser_client
        response = client.get(url, {param: value})

        assert response.status_code == 400, (url, param, response.status_code)
        text = response.json()["detail"] if client is api else response.content.decode()
        assert f"“{param}” contains a null character" in text, url


def test_the_text_percent_zero_zero_is_just_text(browser_client, api, contact, segment):
    for url, param in READS:
        url = url.replace("{segment}", str(segment.pk))
        client = api if url.startswith("/api/") else browser_client
        response = client.get(url, {param: "%00"})

        assert response.status_code in (200, 400), (url, param, response.status_code)
        if param in ("search", "q"):
            assert response.status_code == 200, (url, param)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            assert contact.email not in body.decode(), (url, param)


def test_nul_in_a_csv_cell_is_refused_naming_the_line(browser_client, api, uploads_in_tmp):
    """A NUL beyond the first 8 KB used to slip through to the INSERT (a 500 on PostgreSQL)."""
    rows = [["first_name", "email"]]
    rows += [[f"Person {n}", f"p{n}@example.com"] for n in range(400)]
    rows.append(["Eve\x00", "eve@example.com"])
    data = "\r\n".join(",".join(row) for row in rows).encode()
    assert data.index(b"\x00") > 8192

    response = api.post(
        "/api/crm/contacts/import",
        {"file": SimpleUploadedFile("nul.csv", data), "dry_run": "false"},
        format="multipart",
    )
    page = browser_client.post(
        "/admin/contacts/import", {"file": SimpleUploadedFile("nul.csv", data)}
    )

    assert response.status_code == 400
    assert "Line 402" in response.json()["file"][0]
    assert page.status_code == 400
    assert "Line 402" in page.content.decode()
    assert not Contact.objects.exists()


DIGIT_LIKE = ["²", "٣", "1\u0301"]


@pytest.mark.parametrize("value", DIGIT_LIKE)
def test_digits_that_are_not_ascii_never_break_an_id_or_page_param(
    browser_client, api, contact, segment, value
):
    """str.isdigit() says yes to "²", which int() refuses: such ids and pages were a 500."""
    reads = [
        (api, "/api/crm/contacts", {"page": value}),
        (api, "/api/crm/tags", {"page": value}),
        (api, "/api/crm/contacts", {"tag": value}),
        (browser_client, "/admin/contacts", {"tag": value, "page": value}),
        (browser_client, "/admin/crm/tags/suggest", {"q": "a", "type": "contacts", "id": value}),
    ]
    for client, url, params in reads:
        response = client.get(url, params)
        assert response.status_code in (200, 400, 404), (url, params, response.status_code)
    before = row_counts()
    writes = [
        (f"/admin/contacts/{contact.pk}/tags", {"tag_id": value}),
        ("/admin/crm-segments/preview", {"criteria": "{}", "segment_id": value}),
    ]
    for url, data in writes:
        response = browser_client.post(url, data, HTTP_HX_REQUEST="true")
        assert response.status_code in (200, 400, 404), (url, data, response.status_code)
    assert row_counts() == before
