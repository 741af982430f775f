"""Hostile input, size and shape: oversized fields and bodies, huge criteria, bad JSON.

Each is refused with a 400 (or a 413 for a body over the size limit) and a message
saying what to fix, never a 500, and a refused write leaves the row counts as they were.
"""

import json

import pytest

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from activities.models import Activity
from contacts.models import Contact
from core.json_limits import MAX_NESTING
from deals.models import Deal
from leads.models import Lead
from segments.criteria.registry import MAX_CONDITIONS, MAX_DEPTH
from segments.models import Segment
from tags.models import ContactTag, Tag

MEGABYTE = "x" * 1_000_000
CITY = {"field": "city", "operator": "equals", "value": "Paris"}


def row_counts() -> dict[str, int]:
    models = (Contact, Lead, Deal, Activity, Tag, ContactTag, Segment)
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def counts_unchanged(db):
    """Asserts, after the test, that nothing was written."""
    before = row_counts()
    yield
    assert row_counts() == before


# --- one field of a megabyte ------------------------------------------------------------------


API_NAMES = [
    ("contacts", "first_name", {}, 100),
    ("contacts", "company", {"first_name": "A"}, 200),
    ("leads", "name", {}, 200),
    ("deals", "title", {}, 200),
    ("activities", "subject", {"contact": "{contact}"}, 200),
    ("tags", "name", {}, 50),
    ("tags", "description", {"name": "t"}, 200),
    ("segments", "name", {}, 100),
]


@pytest.mark.parametrize(("endpoint", "field", "rest", "limit"), API_NAMES)
def test_a_megabyte_field_through_the_api_is_a_400_naming_field_and_limit(
    api, contact, endpoint, field, rest, limit
):
    body = {k: contact.pk if v == "{contact}" else v for k, v in rest.items()}
    before = row_counts()

    response = api.post(f"/api/crm/{endpoint}", {**body, field: MEGABYTE}, format="json")

    assert response.status_code == 400
    messages = response.json()[field]
    assert any(str(limit) in message for message in messages), messages
    assert row_counts() == before


FORM_NAMES = [
    ("/admin/contacts/new", {"lifecycle_stage": "lead", "lead_score": "0"}, "first_name", 100),
    ("/admin/leads/new", {"status": "new", "score": "0"}, "name", 200),
    ("/admin/deals/new", {"value": "1", "currency": "USD", "stage": "qualification"}, "title", 200),
    ("/admin/crm/tags/new", {"color": "#2563eb"}, "name", 50),
    ("/admin/crm-segments/new", {}, "name", 100),
]


@pytest.mark.parametrize(("url", "rest", "field", "limit"), FORM_NAMES)
def test_a_megabyte_field_through_a_form_is_shown_next_to_the_field(
    browser_client, counts_unchanged, url, rest, field, limit
):
    response = browser_client.post(url, {**rest, field: MEGABYTE})

    assert response.status_code == 400
    html = response.content.decode()
    assert f"at most {limit} characters" in html


def test_a_megabyte_activity_subject_is_refused_on_the_timeline(
    browser_client, contact, counts_unchanged
):
    response = browser_client.post(
        f"/admin/contacts/{contact.pk}/activities",
        {"kind": "note", "subject": MEGABYTE, "occurred_at": "2026-01-01 10:00"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 400
    assert "at most 200 characters" in response.content.decode()


# --- whole bodies over the limit --------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"first_name": "Ann", "padding": "x" * 10_000_000},
        {"first_name": "x" * 10_000_000},
        {"first_name": "Ann", "tags": list(range(1_000_000))},
    ],
    ids=["unknown-key", "one-field", "long-list"],
)
def test_a_ten_megabyte_json_body_is_refused_before_parsing(api, counts_unchanged, body):
    response = api.post("/api/crm/contacts", json.dumps(body), content_type="application/json")

    assert response.status_code == 413
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert f"{limit:,}" in response.json()["detail"]


def test_a_body_under_the_limit_still_works(api):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2)
    body = json.dumps({"first_name": "Ann", "padding": padding})

    response = api.post("/api/crm/contacts", body, content_type="application/json")

    assert response.status_code == 201


def test_a_ten_megabyte_form_post_is_a_400(browser_client, counts_unchanged):
    response = browser_client.post(
        "/admin/contacts/new", {"first_name": "Ann", "padding": "x" * 10_000_000}
    )

    assert response.status_code == 400


# --- criteria too big or too deep -------------------------------------------------------------


def flat(n: int) -> dict:
    return {"match": "any", "conditions": [CITY] * n}


def nested(levels: int) -> dict:
    node = {"match": "all", "conditions": [CITY]}
    for _ in range(levels - 1):
        node = {"match": "all", "conditions": [node]}
    return node


BIG_CRITERIA = [
    (flat(10_000), f"at most {MAX_CONDITIONS} conditions"),
    (flat(MAX_CONDITIONS + 1), f"at most {MAX_CONDITIONS} conditions"),
    (
        {"match": "any", "conditions": [{"field": "nope", "operator": "x"}] * 10_000},
        f"at most {MAX_CONDITIONS} conditions",
    ),
    (nested(MAX_DEPTH + 1), f"at most {MAX_DEPTH} levels"),
    (nested(50), f"more than {MAX_NESTING} levels deep"),  # refused as it is read
]


@pytest.mark.parametrize(("criteria", "message"), BIG_CRITERIA)
def test_too_many_or_too_deep_criteria_are_a_400_through_the_api(
    api, counts_unchanged, criteria, message
):
    created = api.post("/api/crm/segments", {"name": "big", "criteria": criteria}, format="json")
    preview = api.post("/api/crm/segments/preview", {"criteria": criteria}, format="json")

    for response in (created, preview):
        assert response.status_code == 400
        body = response.json()
        # Criteria too deep to be read at all are malformed JSON: {"detail": …}.
        errors = body.get("criteria") or [body["detail"]]
        assert any(message in error for error in errors), errors[:3]
        assert len(errors) <= 30  # a readable answer, not one line per condition


@pytest.mark.parametrize(("criteria", "message"), BIG_CRITERIA)
def test_too_many_or_too_deep_criteria_are_shown_to_the_builder(
    browser_client, counts_unchanged, criteria, message
):
    response = browser_client.post(
        "/admin/crm-segments/new", {"name": "big", "criteria": json.dumps(criteria)}
    )

    assert response.status_code == 400
    html = response.content.decode()
    # The builder reads the errors from this element and shows them above the conditions.
    errors = html.split('id="segment-criteria-errors" type="application/json">')[1]
    errors = json.loads(errors.split("</script>")[0])
    assert any(message in error for error in errors), errors[:3]
    assert len(errors) <= 30
    preview = browser_client.post(
        "/admin/crm-segments/preview",
        {"criteria": json.dumps(criteria)},
        HTTP_HX_REQUEST="true",
    )
    assert preview.status_code == 400
    assert message in preview.content.decode()


def test_the_limits_themselves_are_accepted(api):
    response = api.post(
        "/api/crm/segments",
        {"name": "wide", "criteria": flat(MAX_CONDITIONS)},
        format="json",
    )
    assert response.status_code == 201
    response = api.post(
        "/api/crm/segments", {"name": "deep", "criteria": nested(MAX_DEPTH)}, format="json"
    )
    assert response.status_code == 201


def test_editing_a_segment_with_too_many_conditions_changes_nothing(api, browser_client):
    segment_id = api.post(
        "/api/crm/segments", {"name": "kept", "criteria": flat(1)}, format="json"
    ).json()["id"]

    patched = api.patch(
        f"/api/crm/segments/{segment_id}",
        {"name": "renamed", "criteria": flat(10_000)},
        format="json",
    )
    posted = browser_client.post(
        f"/admin/crm-segments/{segment_id}/edit",
        {"name": "renamed", "criteria": json.dumps(flat(10_000))},
    )

    assert (patched.status_code, posted.status_code) == (400, 400)
    segment = Segment.objects.get()
    assert (segment.name, segment.criteria) == ("kept", flat(1))


# --- malformed JSON and JSON of the wrong type ------------------------------------------------


WRITE_ENDPOINTS = [
    ("post", "/api/crm/contacts"),
    ("post", "/api/crm/leads"),
    ("post", "/api/crm/deals"),
    ("post", "/api/crm/activities"),
    ("post", "/api/crm/tags"),
    ("post", "/api/crm/segments"),
    ("post", "/api/crm/segments/preview"),
    ("post", "/api/crm/contacts/bulk-tags"),
    ("post", "/api/crm/contacts/{contact}/tags"),
    ("patch", "/api/crm/contacts/{contact}"),
]
BAD_BODIES = [
    ("{", "JSON parse error"),
    ('{"first_name": "Ann",}', "JSON parse error"),
    ("{'first_name': 'Ann'}", "JSON parse error"),
    ('{"first_name": NaN}', "JSON parse error"),
    ("\xff\xfe", "JSON parse error"),
    ("[" * 100_000 + "]" * 100_000, "JSON"),
    ('{"a":' * 50_000 + "1" + "}" * 50_000, "JSON"),
    ("[1, 2, 3]", "Expected a dictionary"),
    ('"just a string"', "Expected a dictionary"),
    ("42", "Expected a dictionary"),
    ("null", ""),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_malformed_json_is_a_400_with_a_message(api, contact, body, message):
    before = row_counts()

    # Syntax is the parser's, shared by every endpoint: a few of them suffice there.
    endpoints = WRITE_ENDPOINTS[::3] if "JSON" in message else WRITE_ENDPOINTS
    for method, url in endpoints:
        url = url.replace("{contact}", str(contact.pk))
        response = getattr(api, method)(url, body, content_type="application/json")

        assert response.status_code == 400, (url, response.content[:300])
        text = json.dumps(response.json())
        assert message in text, (url, text[:300])
    assert row_counts() == before


NOT_CRITERIA = [
    ("a string", "expected an object"),
    (["a", "list"], "expected an object"),
    (42, "expected an object"),
    ({"match": "all", "conditions": "not a list"}, "expected a list"),
    ({"match": "all", "conditions": [1, "two", None]}, "expected a condition"),
    ({"match": ["all"], "conditions": []}, "is not a way to match"),
    ({"match": "all", "conditions": [{"field": {"x": 1}, "operator": "equals"}]}, "not a field"),
    (
        {"match": "all", "conditions": [{"field": "city", "operator": "equals", "value": [[[]]]}]},
        "expected a non-empty string",
    ),
]


@pytest.mark.parametrize(("criteria", "message"), NOT_CRITERIA)
def test_criteria_of_the_wrong_type_are_a_400(
    api, browser_client, counts_unchanged, criteria, message
):
    for response in (
        api.post("/api/crm/segments", {"name": "typed", "criteria": criteria}, format="json"),
        api.post("/api/crm/segments/preview", {"criteria": criteria}, format="json"),
    ):
        assert response.status_code == 400, response.content[:300]
        assert message in json.dumps(response.json()["criteria"])
    response = browser_client.post(
        "/admin/crm-segments/new", {"name": "typed", "criteria": json.dumps(criteria)}
    )
    assert response.status_code == 400
    assert "Nothing was saved" in response.content.decode()


@pytest.mark.parametrize(
    "text",
    ["{", "{'match': 'all'}", "[" * 100_000, "[" * 5_000 + "]" * 5_000, '{"match": NaN}'],
    ids=["truncated", "single-quotes", "deep-unclosed", "deep-closed", "nan"],
)
def test_criteria_text_that_is_not_json_is_shown_in_the_form(
    browser_client, counts_unchanged, text
):
    response = browser_client.post("/admin/crm-segments/new", {"name": "typed", "criteria": text})
    preview = browser_client.post(
        "/admin/crm-segments/preview", {"criteria": text}, HTTP_HX_REQUEST="true"
    )

    assert (response.status_code, preview.status_code) == (400, 400)
    assert "Nothing was saved" in response.content.decode()
    assert 'class="message error' in preview.content.decode() or "<li>" in preview.content.decode()


def test_a_deeply_nested_import_mapping_is_a_400(api, settings, tmp_path, counts_unchanged):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.VAR_DIR = tmp_path
    upload = SimpleUploadedFile("a.csv", b"email\r\na@example.com\r\n", content_type="text/csv")
    response = api.post(
        "/api/crm/contacts/import",
        {"file": upload, "mapping": "[" * 100_000},
        format="multipart",
    )

    assert response.status_code == 400
    assert "mapping" in response.json()


@pytest.mark.parametrize("target", [["first_name"], {"a": 1}, 7, True])
def test_an_import_mapping_to_something_not_a_field_name_is_a_400(
    api, settings, tmp_path, counts_unchanged, target
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.VAR_DIR = tmp_path
    upload = SimpleUploadedFile("a.csv", b"first_name\r\nAda\r\n", content_type="text/csv")
    response = api.post(
        "/api/crm/contacts/import",
        {"file": upload, "mapping": json.dumps({"first_name": target}), "dry_run": "false"},
        format="multipart",
    )

    assert response.status_code == 400, response.content
    assert "Map the column “first_name” to a field name" in json.dumps(
        response.json(), ensure_ascii=False
    )


# --- bodies larger than any request needs are refused before they are read -----------------


class UnreadablePayload:
    """A body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the oversized body was read")

    readline = read


@pytest.mark.parametrize(
    ("path", "signed_in"),
    [
        ("/admin/contacts/import", False),  # anonymous: the CSRF check used to read it all
        ("/admin/login", False),
        ("/admin/contacts/import", True),
        ("/api/crm/contacts/import", True),
    ],
)
def test_an_oversized_body_is_a_413_before_it_is_read(client, admin_user, path, signed_in):
    if signed_in:
        client.force_login(admin_user)
    response = client.generic(
        "POST",
        path,
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(300_000_000),
        **{"wsgi.input": UnreadablePayload()},
    )

    assert response.status_code == 413
    assert "286.1 MB, larger than the 21 MB accepted" in response.content.decode()
    if path.startswith("/api/"):
        assert response.json()["detail"].startswith("The request body is 286.1 MB")


def test_a_20_megabyte_import_is_still_read(browser_client, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    csv_text = "first_name,email\n" + "Ada,ada@x.example\n" * (20 * 2**20 // 18 - 1)
    upload = SimpleUploadedFile("big.csv", csv_text.encode(), content_type="text/csv")

    response = browser_client.post("/admin/contacts/import", {"file": upload})

    assert response.status_code != 413
