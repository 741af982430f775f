"""Hostile input, generated: arbitrary text into the API, the forms and the search boxes.

Hypothesis draws any Unicode text (NUL, controls, RTL marks, astral characters,
lone combining marks; not lone surrogates, which no client can send as UTF-8).
Whatever it is, the answer is a success or a 400 with a message, never a 500, and a
refused write leaves no row behind. Examples are few and bounded so the run stays fast.
"""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django.utils.html import escape

from contacts.models import Contact
from tags.models import Tag

ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=120)
FUZZ = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def page_client(client, admin_user):
    client.force_login(admin_user)
    return client


@FUZZ
@given(name=ANY_TEXT, company=ANY_TEXT)
def test_any_text_into_contact_create_is_stored_as_sent_or_refused(api, page_client, name, company):
    before = Contact.objects.count()

    response = api.post(
        "/api/crm/contacts", {"first_name": name, "company": company}, format="json"
    )

    assert response.status_code in (201, 400), response.content[:300]
    if response.status_code == 400:
        assert Contact.objects.count() == before
        assert all(isinstance(v, list) and v for v in response.json().values())
        return
    contact = Contact.objects.get(pk=response.json()["id"])
    # DRF trims surrounding whitespace; everything else is kept as sent.
    assert (contact.first_name, contact.company) == (name.strip(), company.strip())
    page = page_client.get(contact.get_absolute_url())
    assert page.status_code == 200
    assert escape(contact.company) in page.content.decode()


@FUZZ
@given(text=ANY_TEXT)
def test_any_text_into_the_forms_is_saved_or_shown_as_an_error(page_client, text):
    contacts, tags = Contact.objects.count(), Tag.objects.count()

    contact = page_client.post(
        "/admin/contacts/new",
        {"first_name": text, "city": text, "lifecycle_stage": "lead", "lead_score": "0"},
    )
    tag = page_client.post("/admin/crm/tags/new", {"name": text, "color": "#2563eb"})

    assert contact.status_code in (302, 400)
    assert tag.status_code in (302, 400)
    assert Contact.objects.count() == contacts + (contact.status_code == 302)
    assert Tag.objects.count() == tags + (tag.status_code == 302)
    if contact.status_code == 400:
        assert 'class="field-error"' in contact.content.decode() or "errorlist" in (
            contact.content.decode()
        )


@FUZZ
@given(query=ANY_TEXT)
def test_any_text_into_search_boxes_and_criteria_never_breaks(api, page_client, contact, query):
    for client, url, params in (
        (api, "/api/crm/contacts", {"search": query}),
        (api, "/api/crm/tags", {"search": query}),
        (page_client, "/admin/contacts", {"search": query}),
        (page_client, "/admin/crm/tags/suggest", {"q": query}),
        (page_client, "/admin/crm-segments", {"search": query}),
    ):
        response = client.get(url, params)
        assert response.status_code in (200, 400), (url, response.status_code)

    condition = {"field": "company", "operator": "contains", "value": query}
    response = api.post(
        "/api/crm/segments/preview",
        {"criteria": {"match": "all", "conditions": [condition]}},
        format="json",
    )
    assert response.status_code in (200, 400), response.content[:300]
    if response.status_code == 400:
        assert "conditions[0].value" in response.json()["criteria"][0]
    elif query.isascii():
        # Beyond ASCII the databases fold case their own way (SQLite not at all).
        assert response.json()["count"] == int(query.lower() in contact.company.lower())
