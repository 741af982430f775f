"""What every /api/crm/ endpoint shares: auth, permissions, error shapes, schema, query budget."""

from itertools import count

import pytest

from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.roles import SALES_MANAGER
from activities.models import Activity
from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead

ENDPOINTS = ["contacts", "leads", "deals", "activities"]
SERIAL = count()


def make_records(endpoint: str, how_many: int) -> list:
    """`how_many` records of `endpoint`'s type, each tied to its own contact where it can be."""
    serials = [next(SERIAL) for _ in range(how_many)]
    contacts = Contact.objects.bulk_create(
        Contact(first_name=f"Person {i}", email=f"person{i}@example.com") for i in serials
    )
    if endpoint == "contacts":
        return contacts
    model, fields = {
        "leads": (Lead, {"name": "Lead"}),
        "deals": (Deal, {"title": "Deal"}),
        "activities": (Activity, {"subject": "Call"}),
    }[endpoint]
    return model.objects.bulk_create(model(contact=c, **fields) for c in contacts)


def total_rows() -> int:
    return sum(model.objects.count() for model in (Contact, Lead, Deal, Activity))


def valid_body(endpoint: str) -> dict:
    contact = Contact.objects.create(first_name="Target")
    return {
        "contacts": {"first_name": "New"},
        "leads": {"name": "New"},
        "deals": {"title": "New"},
        "activities": {"subject": "New", "contact": contact.pk},
    }[endpoint]


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_no_credentials_is_401_asking_for_a_bearer_token(db, endpoint):
    response = APIClient().get(f"/api/crm/{endpoint}")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert "detail" in response.json()


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer nonsense",
        "Bearer cohort_000000000000_notarealsecret",
        "Bearer",
        "Bearer two words",
    ],
)
def test_a_bad_token_is_401(db, authorization):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)

    response = client.get("/api/crm/contacts/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert "detail" in response.json()


def test_a_bad_token_is_not_rescued_by_a_session(client, admin_user):
    # given a browser session and a broken token on the same request
    client.force_login(admin_user)

    response = client.get("/api/crm/contacts", HTTP_AUTHORIZATION="Bearer nonsense")

    assert response.status_code == 401


# --- permissions by role ----------------------------------------------------------------------


READ_ONLY = {"LIST": 200, "GET": 200, "POST": 403, "PATCH": 403, "PUT": 403, "DELETE": 403}
NOTHING = {"LIST": 403, "GET": 403, "POST": 403, "PATCH": 403, "PUT": 403, "DELETE": 403}
EVERYTHING = {"LIST": 200, "GET": 200, "POST": 201, "PATCH": 200, "PUT": 200, "DELETE": 204}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("viewer", READ_ONLY),
        ("nobody", NOTHING),
        ("manager", EVERYTHING),
        ("admin_user", EVERYTHING),
    ],
)
def test_what_each_role_may_do(db, request, api_client_for, endpoint, who, expected):
    # given a record, and a token for someone in the role
    client = api_client_for(request.getfixturevalue(who))
    record = make_records(endpoint, 1)[0]
    body = valid_body(endpoint)
    rows = total_rows()

    # when / then
    got = {
        "LIST": client.get(f"/api/crm/{endpoint}").status_code,
        "GET": client.get(f"/api/crm/{endpoint}/{record.pk}").status_code,
        "POST": client.post(f"/api/crm/{endpoint}", body, format="json").status_code,
        "PATCH": client.patch(f"/api/crm/{endpoint}/{record.pk}", body, format="json").status_code,
        "PUT": client.put(f"/api/crm/{endpoint}/{record.pk}", body, format="json").status_code,
        "DELETE": client.delete(f"/api/crm/{endpoint}/{record.pk}").status_code,
    }
    assert got == expected
    if expected["POST"] == 403:
        assert total_rows() == rows


# --- error shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_unknown_id_is_404_with_detail(api, endpoint):
    for path in (f"/api/crm/{endpoint}/999999", f"/api/crm/{endpoint}/abc/"):
        for method in ("get", "patch", "put", "delete"):
            response = getattr(api, method)(path, {}, format="json")

            assert response.status_code == 404, (method, path)
            assert isinstance(response.json()["detail"], str)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_malformed_json_is_400_and_saves_nothing(api, endpoint):
    # given
    record = make_records(endpoint, 1)[0]
    rows = total_rows()

    # when
    created = api.post(f"/api/crm/{endpoint}", '{"oops": ', content_type="application/json")
    updated = api.patch(
        f"/api/crm/{endpoint}/{record.pk}", '{"oops": ', content_type="application/json"
    )

    # then
    for response in (created, updated):
        assert response.status_code == 400
        assert isinstance(response.json()["detail"], str)
    assert total_rows() == rows


def test_form_encoded_bodies_are_415(api, db):
    response = api.post("/api/crm/contacts", {"first_name": "x"}, format="multipart")

    assert response.status_code == 415
    assert not Contact.objects.exists()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_inactive_user_cannot_own_records(api, make_user, endpoint):
    # given
    inactive = make_user("gone", SALES_MANAGER, is_active=False)
    body = {**valid_body(endpoint), "owner": inactive.pk}
    rows = total_rows()

    # when
    response = api.post(f"/api/crm/{endpoint}", body, format="json")

    # then
    assert response.status_code == 400
    assert list(response.json()) == ["owner"]
    assert total_rows() == rows


# --- pagination -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_pages_link_to_each_other(api, endpoint):
    # given 3 records, 2 per page
    make_records(endpoint, 3)

    # when
    first = api.get(f"/api/crm/{endpoint}", {"page_size": 2}).json()
    second = api.get(first["next"]).json()

    # then
    assert (first["count"], len(first["results"]), first["previous"]) == (3, 2, None)
    assert (second["count"], len(second["results"]), second["next"]) == (3, 1, None)
    assert first["next"].startswith("http://testserver/api/crm/")
    assert api.get(second["previous"]).json()["results"] == first["results"]
    ids = [row["id"] for row in first["results"] + second["results"]]
    assert len(set(ids)) == 3


def test_past_the_count_cap_count_is_left_out_but_paging_goes_on(api, settings):
    # given more matches than the API is willing to count
    settings.COHORT_COUNT_CAP = 3
    make_records("leads", 5)

    # when
    first = api.get("/api/crm/leads", {"page_size": 2}).json()

    # then
    assert "count" not in first
    assert len(first["results"]) == 2
    assert len(api.get(first["next"]).json()["results"]) == 2


@pytest.mark.parametrize("page", ["0", "x", "3"])
def test_an_invalid_page_is_404_with_detail(api, page):
    make_records("deals", 3)

    response = api.get("/api/crm/deals", {"page": page, "page_size": 2})

    assert response.status_code == 404
    assert isinstance(response.json()["detail"], str)


# --- query budget -----------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_list_queries_do_not_grow_with_page_size(api, django_assert_max_num_queries, endpoint):
    # given a warmed-up token (its last_used_at is written once a minute, not per request)
    path = f"/api/crm/{endpoint}"
    api.get(path)
    make_records(endpoint, 5)
    with CaptureQueriesContext(connection) as five_rows:
        assert len(api.get(path).json()["results"]) == 5

    # when the page holds ten times as many rows
    make_records(endpoint, 45)

    # then it takes no more queries
    with django_assert_max_num_queries(len(five_rows)):
        assert len(api.get(path, {"page_size": 50}).json()["results"]) == 50


# --- schema and docs --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker) -> dict:
    """The OpenAPI document, fetched once: generating it takes a while."""
    with django_db_blocker.unblock(), override_settings(COHORT_PUBLIC_API_DOCS=True):
        response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_an_openapi_3_document(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Cohort API"


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_schema_lists_every_endpoint_with_its_operations(schema, endpoint):
    paths = schema["paths"]

    assert {"get", "post"} <= set(paths[f"/api/crm/{endpoint}/"])
    assert {"get", "put", "patch", "delete"} <= set(paths[f"/api/crm/{endpoint}/{{id}}/"])


def test_schema_declares_bearer_auth(schema):
    schemes = schema["components"]["securitySchemes"]
    bearer = [name for name, s in schemes.items() if s == {"type": "http", "scheme": "bearer"}]

    assert bearer
    operation = schema["paths"]["/api/crm/contacts/"]["get"]
    assert {bearer[0]: []} in operation["security"]


def test_schema_documents_the_page_size_cap(schema):
    parameters = schema["paths"]["/api/crm/contacts/"]["get"]["parameters"]
    page_size = next(p for p in parameters if p["name"] == "page_size")

    assert page_size["schema"]["maximum"] == 200


def test_schema_is_served_to_token_holders(api):
    response = api.get("/api/schema", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    assert "/api/crm/contacts/" in response.json()["paths"]


@pytest.mark.parametrize("path", ["/api/docs/", "/api/docs"])
def test_docs_page_renders(browser_client, path):
    response = browser_client.get(path)

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
    # The start-up script, a file of its own (no inline script: M6), loads the schema.
    assert b"/api/schema" in browser_client.get(path, {"script": ""}).content


def test_openapi_schema_is_valid_and_generates_without_warnings(tmp_path):
    # A warning means some parameter or body fell back to a guessed type: integrators
    # generating clients from /api/schema/ would get it wrong.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )
    assert "/api/crm/segments/{id}/sync" in (tmp_path / "schema.yml").read_text()
