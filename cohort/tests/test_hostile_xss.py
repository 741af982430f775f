"""Hostile input, XSS: payloads stored in every text field, then every page that shows them.

Each payload goes into every text field of a contact, lead, deal, activity, tag and
segment (criteria values included), through the API and through the forms. Every
page, partial and fragment that shows those records must then carry the payload
inert: escaped in text and attributes, `\\u003C`-escaped inside json_script, never as
a live tag, handler, `javascript:` URL or CSS breakout.
"""

import csv
import io
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest

from django.test import Client
from django.utils.html import escape

from activities.models import Activity
from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead
from segments.models import Segment
from tags.models import Tag

PAYLOADS = [
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(1)>",
    "</script><!--<script>alert(1)//",
    '" onmouseover="alert(1)" x=\'',
    "javascript:alert(1)//{{7*7}}{% now 'Y' %}",
    "<style>*{background:url(//e)}</style>",
]
# Characters that change meaning in HTML: a payload holding one must never appear raw.
HTML_SPECIAL = set("<>\"'&")
SAFE_SCRIPT_TYPES = {"application/json"}
JSON_SCRIPT = re.compile(r'(<script [^>]*type="application/json">).*?(</script>)', re.S)
STYLE_ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 #:;%.-")


class _Markup(HTMLParser):
    """Collects what a browser would act on: tags, attributes, inline script bodies."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self._script: dict[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "script":
            self._script = attributes
            self.scripts.append((attributes, ""))

    def handle_data(self, data):
        if self._script is not None:
            attributes, body = self.scripts[-1]
            self.scripts[-1] = (attributes, body + data)

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None


def assert_inert(html: str, payload: str, where: str) -> None:
    """The page shows `payload` only as text: nothing in it can run or restyle the page."""
    if HTML_SPECIAL & set(payload):
        # Inside json_script a quote is just JSON; its < > & are checked below.
        outside_json = JSON_SCRIPT.sub("", html)
        assert payload not in outside_json, f"{where}: the payload appears unescaped"
    markup = _Markup()
    markup.feed(html)
    for tag, attributes in markup.tags:
        assert tag not in {"img", "svg", "iframe", "object", "embed", "style"}, (
            f"{where}: a <{tag}> element was injected"
        )
        for name, value in attributes.items():
            assert not name.startswith("on"), f"{where}: <{tag} {name}=…> is an event handler"
            if name in {"href", "src", "action", "formaction"} or name.startswith("hx-"):
                assert not value.strip().lower().startswith("javascript:"), (
                    f"{where}: <{tag} {name}> runs script"
                )
            if name == "style":
                assert set(value) <= STYLE_ALLOWED and "url" not in value, (
                    f"{where}: <{tag} style={value!r}> carries more than colours and sizes"
                )
    for attributes, body in markup.scripts:
        if "src" in attributes:
            assert attributes["src"].startswith("/static/"), f"{where}: a foreign script"
            assert not body.strip(), f"{where}: a script with src also has a body"
            continue
        assert attributes.get("type") in SAFE_SCRIPT_TYPES, f"{where}: an inline script runs"
        # json_script escapes <, > and & so nothing in the data can close the element.
        assert "<" not in body and ">" not in body, f"{where}: data breaks out of <script>"


@dataclass
class World:
    contact: Contact
    lead: Lead
    deal: Deal
    activity: Activity
    tag: Tag
    segment: Segment


def _created(response) -> int:
    assert response.status_code == 201, response.content
    return response.json()["id"]


def _poison_through_api(api, payload: str) -> World:
    """One record of each kind with `payload` in every text field, written by the API."""
    contact_id = _created(
        api.post(
            "/api/crm/contacts",
            {
                "first_name": payload,
                "last_name": payload,
                "email": "victim@example.com",
                "phone": payload,
                "company": payload,
                "job_title": payload,
                "city": payload,
            },
            format="json",
        )
    )
    lead_id = _created(
        api.post(
            "/api/crm/leads",
            {"name": payload, "phone": payload, "company": payload, "contact": contact_id},
            format="json",
        )
    )
    deal_id = _created(
        api.post("/api/crm/deals", {"title": payload, "contact": contact_id}, format="json")
    )
    activity_id = _created(
        api.post(
            "/api/crm/activities",
            {
                "subject": payload,
                "notes": payload,
                "contact": contact_id,
                "deal": deal_id,
                "lead": lead_id,
            },
            format="json",
        )
    )
    tag_id = _created(
        api.post(
            "/api/crm/tags",
            {"name": payload, "description": payload, "color": "#dc2626"},
            format="json",
        )
    )
    for kind, pk in (("contacts", contact_id), ("leads", lead_id), ("deals", deal_id)):
        attached = api.post(f"/api/crm/{kind}/{pk}/tags", {"tag_id": tag_id}, format="json")
        assert attached.status_code == 201, attached.content
    criteria = {
        "match": "any",
        "conditions": [
            {"field": "company", "operator": "contains", "value": payload},
            {"field": "city", "operator": "equals", "value": payload},
            {"field": "last_name", "operator": "starts_with", "value": payload},
            {"field": "tags", "operator": "has", "value": tag_id},
        ],
    }
    segment_id = _created(
        api.post(
            "/api/crm/segments",
            {"name": payload, "description": payload, "criteria": criteria},
            format="json",
        )
    )
    synced = api.post(f"/api/crm/segments/{segment_id}/sync")
    assert (synced.status_code, synced.json()["state"]) == (202, "succeeded")
    return World(
        contact=Contact.objects.get(pk=contact_id),
        lead=Lead.objects.get(pk=lead_id),
        deal=Deal.objects.get(pk=deal_id),
        activity=Activity.objects.get(pk=activity_id),
        tag=Tag.objects.get(pk=tag_id),
        segment=Segment.objects.get(pk=segment_id),
    )


def _pages(world: World) -> list[str]:
    c, lead, deal = world.contact.pk, world.lead.pk, world.deal.pk
    t, s = world.tag.pk, world.segment.pk
    pages = ["/admin"]
    for kind, pk in (("contacts", c), ("leads", lead), ("deals", deal)):
        pages += [
            f"/admin/{kind}",
            f"/admin/{kind}?tag={t}",  # the tag filter shows the chosen tag as a chip
            f"/admin/{kind}/{pk}",
            f"/admin/{kind}/{pk}/edit",
            f"/admin/{kind}/{pk}/delete",
            f"/admin/{kind}/import",
        ]
    pages += [
        "/admin/crm/tags",
        f"/admin/crm/tags/{t}/edit",
        f"/admin/crm/tags/{t}/delete",
        f"/admin/crm/tags/{t}/merge",
        "/admin/crm/tags/suggest?q=",
        f"/admin/crm/tags/suggest?q=&type=contacts&id={c}",
        "/admin/crm-segments",
        f"/admin/crm-segments/{s}",
        f"/admin/crm-segments/{s}/edit",
        f"/admin/crm-segments/{s}/delete",
        "/admin/crm-segments/new",
    ]
    return pages


def _searches(world: World) -> list[tuple[str, dict]]:
    """Pages that echo what was typed back: the payload as the query itself."""
    s = world.segment.pk
    return [
        ("/admin/contacts", {"search": "{}"}),
        ("/admin/leads", {"search": "{}"}),
        ("/admin/deals", {"search": "{}"}),
        ("/admin/crm/tags", {"search": "{}"}),
        ("/admin/crm-segments", {"search": "{}"}),
        (f"/admin/crm-segments/{s}", {"search": "{}"}),
        (f"/admin/crm-segments/{s}/contact-search", {"q": "{}"}),
        ("/admin/crm/tags/suggest", {"q": "{}"}),
        ("/admin/crm/tags/suggest", {"q": "{}", "type": "contacts", "id": str(world.contact.pk)}),
    ]


HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_stored_through_the_api_are_inert_on_every_page(browser_client, api, payload):
    world = _poison_through_api(api, payload)

    for url in _pages(world):
        # htmx gets a partial from lists and fragments: check both forms there.
        partial = "/suggest" in url or url.count("/") < 4 or "?" in url
        for extra in ({}, HTMX) if partial else ({},):
            response = browser_client.get(url, **extra)
            assert response.status_code == 200, f"{url} {extra}: {response.status_code}"
            assert_inert(response.content.decode(), payload, f"GET {url} {extra}")
    tags_section = browser_client.get(f"/admin/contacts/{world.contact.pk}/tags", **HTMX)
    assert tags_section.status_code == 200
    assert_inert(tags_section.content.decode(), payload, "the Tags section partial")
    for url, params in _searches(world):
        query = {key: value.replace("{}", payload) for key, value in params.items()}
        response = browser_client.get(url, query, **HTMX)
        assert response.status_code == 200, f"{url}?{query}"
        assert_inert(response.content.decode(), payload, f"GET {url}?{query}")

    # The payload is shown as the text it is, and the API gives back exactly what was
    # stored: escaping is the page's job.
    for url in (f"/admin/contacts/{world.contact.pk}", f"/admin/crm-segments/{world.segment.pk}"):
        assert escape(payload) in browser_client.get(url).content.decode(), url
    assert api.get(f"/api/crm/contacts/{world.contact.pk}").json()["company"] == payload
    assert api.get(f"/api/crm/segments/{world.segment.pk}").json()["name"] == payload

    # The builder's registry (tag names) and the criteria go into <script> and a textarea;
    # the live preview fragment lists the matching contacts.
    edit = browser_client.get(f"/admin/crm-segments/{world.segment.pk}/edit").content.decode()
    assert 'id="segment-fields" type="application/json"' in edit
    preview = browser_client.post(
        "/admin/crm-segments/preview", {"criteria": json.dumps(world.segment.criteria)}, **HTMX
    )
    assert preview.status_code == 200
    assert escape(world.contact.full_name) in preview.content.decode()
    assert_inert(preview.content.decode(), payload, "preview")

    _assert_error_pages_inert(browser_client, world, payload)


def _assert_error_pages_inert(browser_client, world: World, payload: str) -> None:
    """Forms sent back with errors put the typed payload in value attributes and messages."""
    bad_contact = {"first_name": payload, "email": "not an email", "lifecycle_stage": "lead"}
    response = browser_client.post("/admin/contacts/new", bad_contact)
    assert response.status_code == 400
    assert_inert(response.content.decode(), payload, "contact form with errors")

    bad_criteria = {"match": payload, "conditions": [{"field": payload, "operator": payload}]}
    response = browser_client.post(
        "/admin/crm-segments/new",
        {"name": payload + "2", "description": payload, "criteria": json.dumps(bad_criteria)},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "is not a way to match" in html
    assert_inert(html, payload, "segment form with criteria errors")

    response = browser_client.post(
        "/admin/crm-segments/preview", {"criteria": json.dumps(bad_criteria)}, **HTMX
    )
    assert response.status_code == 400
    assert_inert(response.content.decode(), payload, "preview with criteria errors")

    response = browser_client.post(
        f"/admin/contacts/{world.contact.pk}/tags", {"name": payload + "x" * 60}, **HTMX
    )
    assert response.status_code == 400
    assert_inert(response.content.decode(), payload, "tag section with an error")


FORM_PAYLOAD = PAYLOADS[1:2]


@pytest.mark.parametrize("payload", FORM_PAYLOAD)
def test_payloads_saved_through_the_forms_are_stored_as_typed_and_inert(browser_client, payload):

    response = browser_client.post(
        "/admin/contacts/new",
        {
            "first_name": payload,
            "last_name": payload,
            "phone": payload,
            "company": payload,
            "job_title": payload,
            "city": payload,
            "lifecycle_stage": "lead",
            "lead_score": "0",
        },
    )
    assert response.status_code == 302, response.content
    contact = Contact.objects.get()
    assert (contact.first_name, contact.company, contact.city) == (payload, payload, payload)
    response = browser_client.post(
        "/admin/leads/new",
        {"name": payload, "company": payload, "status": "new", "score": "0"},
    )
    assert response.status_code == 302, response.content
    response = browser_client.post(
        "/admin/deals/new",
        {"title": payload, "contact": contact.pk, "value": "1", "currency": "USD"}
        | {"stage": "qualification"},
    )
    assert response.status_code == 302, response.content
    response = browser_client.post(
        f"/admin/contacts/{contact.pk}/activities",
        {"kind": "note", "subject": payload, "notes": payload, "occurred_at": "2026-01-01 10:00"},
        **HTMX,
    )
    assert response.status_code == 200, response.content
    assert_inert(response.content.decode(), payload, "timeline after logging")
    response = browser_client.post(
        "/admin/crm/tags/new", {"name": payload, "color": "#2563eb", "description": payload}
    )
    assert response.status_code == 302, response.content
    tag = Tag.objects.get()
    response = browser_client.post(f"/admin/contacts/{contact.pk}/tags", {"tag_id": tag.pk}, **HTMX)
    assert response.status_code == 200
    assert_inert(response.content.decode(), payload, "tag section after attaching")
    condition = {"field": "city", "operator": "equals", "value": payload}
    criteria = {"match": "all", "conditions": [condition]}
    response = browser_client.post(
        "/admin/crm-segments/new",
        {"name": payload, "description": payload, "criteria": json.dumps(criteria)},
    )
    assert response.status_code == 302, response.content
    segment = Segment.objects.get()
    assert segment.criteria["conditions"][0]["value"] == payload
    assert (Lead.objects.get().name, Deal.objects.get().title) == (payload, payload)
    assert Activity.objects.get().notes == payload

    for url in (
        "/admin",
        "/admin/contacts",
        f"/admin/contacts/{contact.pk}",
        f"/admin/contacts/{contact.pk}/edit",
        "/admin/crm/tags",
        f"/admin/crm-segments/{segment.pk}",
        f"/admin/crm-segments/{segment.pk}/edit",
    ):
        response = browser_client.get(url)
        assert response.status_code == 200, url
        assert_inert(response.content.decode(), payload, url)


def _upload(client: Client, data: bytes, record_type: str = "contacts"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("hostile.csv", data, content_type="text/csv")
    return client.post(f"/admin/{record_type}/import", {"file": upload})


@pytest.fixture
def uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.mark.parametrize("payload", PAYLOADS[:3])
def test_import_mapping_preview_and_dry_run_of_a_hostile_csv_are_inert(
    browser_client, uploads_in_tmp, payload
):

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["first_name", payload, "email", "tags"])
    writer.writerow([payload, payload, "not an email " + payload, payload])
    writer.writerow(["Ok", payload, "ok@example.com", payload])
    response = _upload(browser_client, out.getvalue().encode())
    assert response.status_code == 302, response.content
    review_url = response["Location"]

    page = browser_client.get(review_url)
    assert page.status_code == 200
    assert_inert(page.content.decode(), payload, "import mapping preview")

    form = {"map_0": "first_name", "map_1": "company", "map_2": "email", "map_3": "tags"}
    dry = browser_client.post(review_url, {**form, "action": "dry_run"})
    assert dry.status_code == 200
    html = dry.content.decode()
    assert "1 new" in html
    assert_inert(html, payload, "import dry run with errors")


@pytest.mark.parametrize(
    "color",
    [
        "red;background:url(javascript:alert(1))",
        '#fff" onmouseover="alert(1)',
        "#ffffff\n",
        "#fff",
        "url(x)",
        "#12345g",
        "",
    ],
)
def test_a_tag_colour_that_is_not_hex_is_refused_everywhere(browser_client, api, color):
    response = api.post("/api/crm/tags", {"name": "hostile", "color": color}, format="json")
    if color.strip() == "#ffffff":
        # Surrounding whitespace is trimmed: what is stored is the plain colour.
        assert response.status_code == 201
        assert Tag.objects.get().color == "#ffffff"
        Tag.objects.all().delete()
    else:
        assert response.status_code == 400
        assert "color" in response.json()
        assert not Tag.objects.exists()

    response = browser_client.post("/admin/crm/tags/new", {"name": "hostile2", "color": color})
    if color.strip() == "#ffffff":
        assert response.status_code == 302
        assert Tag.objects.get().color == "#ffffff"
        tag = Tag.objects.get()
    else:
        assert response.status_code == 400
        html = response.content.decode()
        assert "Enter a colour as #RRGGBB" in html or "Choose a colour" in html
        assert_inert(html, color, "tag form with a bad colour")
        assert not Tag.objects.exists()
        tag = Tag.objects.create(name="kept", slug="kept", color="#2563eb")

    # Editing an existing tag is refused the same way and leaves it as it was.
    response = browser_client.post(
        f"/admin/crm/tags/{tag.pk}/edit", {"name": tag.name, "color": color + "x"}
    )
    assert response.status_code == 400
    patched = api.patch(f"/api/crm/tags/{tag.pk}", {"color": color + "x"}, format="json")
    assert patched.status_code == 400
    before = tag.color
    tag.refresh_from_db()
    assert tag.color == before
