import csv
import io
import json

import pytest

from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import Contact
from leads.models import Lead
from tags.models import Tag
from transfers.tests.conftest import csv_bytes


def _post(client, data: bytes, record_type: str = "contacts", **fields):
    upload = SimpleUploadedFile("x.csv", data, content_type="text/csv")
    return client.post(
        f"/api/crm/{record_type}/import", {"file": upload, **fields}, format="multipart"
    )


def test_api_dry_run_by_default(api, real_world_csv):
    response = _post(api, real_world_csv)

    assert response.status_code == 200
    body = response.json()
    assert (body["new"], body["updated"], body["skipped"], body["errors"]) == (3, 0, 0, 4)
    assert body["imported"] is False
    assert {"row": 6, "column": "Score", "reason": body["error_list"][2]["reason"]} in body[
        "error_list"
    ]
    assert not Contact.objects.exists()


def test_api_import_with_mapping_and_update(api, contact):
    data = csv_bytes(
        [
            ["Mail", "Firma", "Etiketten"],
            ["ADA@analytical.example", "New", '"a,b"'],
            ["new@x.example", "Other", "b"],
        ]
    )
    mapping = json.dumps({"Mail": "email", "Firma": "company", "Etiketten": "tags"})

    response = _post(api, data, mapping=mapping, on_duplicate="update", dry_run="false")

    assert response.status_code == 200, response.json()
    assert response.json()["summary"] == "1 new, 1 updated, 0 skipped, 0 errors"
    contact.refresh_from_db()
    assert contact.company == "New"
    assert dict(Tag.objects.values_list("name", "contacts_count")) == {"a": 1, "b": 2}


def test_api_all_or_nothing(api, real_world_csv):
    response = _post(api, real_world_csv, mode="all_or_nothing", dry_run="false")

    assert response.status_code == 200
    assert response.json()["imported"] is False
    assert not Contact.objects.exists()


def test_api_leads_import_with_trailing_slash(api):
    upload = SimpleUploadedFile("x.csv", csv_bytes([["name"], ["Lead A"]]))
    response = api.post("/api/crm/leads/import/", {"file": upload}, format="multipart")
    assert response.status_code == 200 and response.json()["new"] == 1
    response = _post(api, csv_bytes([["name"], ["Lead A"]]), "leads", dry_run="false")
    assert response.json()["new"] == 1 and Lead.objects.count() == 1


@pytest.mark.parametrize(
    "data, fields, message",
    [
        (b"", {}, "empty"),
        (b"\x00\xff", {}, "binary"),
        (b"email\n", {}, "no rows"),
        (b"a,b\n1\n", {}, "Row 2 has 1 columns"),
        (b"email\na@x.example\n", {"mapping": "[1]"}, "JSON object"),
        (b"email\na@x.example\n", {"mapping": '{"nope": "email"}'}, "does not have"),
        (b"email\na@x.example\n", {"mode": "sometimes"}, "valid_only"),
    ],
)
def test_api_bad_input_is_a_400_with_a_message(api, data, fields, message):
    response = _post(api, data, dry_run="false", **fields)

    assert response.status_code == 400
    assert message in json.dumps(response.json())
    assert not Contact.objects.exists()


def test_api_without_a_file(api):
    response = api.post("/api/crm/contacts/import", {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()


def test_api_import_permissions(api_client_for, viewer, rep):
    data = csv_bytes([["email"], ["a@x.example"]])
    assert _post(api_client_for(viewer), data).status_code == 403
    assert _post(api_client_for(rep), data).status_code == 200


def test_api_needs_authentication(client, db):
    from rest_framework.test import APIClient

    assert _post(APIClient(), b"email\na@x.example\n").status_code == 401
    assert APIClient().get("/api/crm/contacts/export.csv").status_code == 401


def test_api_update_needs_change_permission(api_client_for, make_user):
    from django.contrib.auth.models import Permission

    adder = make_user("adder")
    adder.user_permissions.add(Permission.objects.get(codename="add_contact"))
    data = csv_bytes([["email"], ["a@x.example"]])

    assert _post(api_client_for(adder), data, on_duplicate="update").status_code == 403
    assert _post(api_client_for(adder), data).status_code == 200


def test_api_export_follows_the_list_query(api, contact, admin_user):
    Contact.objects.create(first_name="Bob", email="bob@x.example", country="US")

    response = api.get("/api/crm/contacts/export.csv?country=GB")

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[3] for row in rows[1:]] == ["ada@analytical.example"]


def test_api_export_permissions_and_bad_filter(api_client_for, nobody, viewer, api):
    assert api_client_for(nobody).get("/api/crm/deals/export.csv").status_code == 403
    assert api_client_for(viewer).get("/api/crm/deals/export.csv").status_code == 200
    assert api.get("/api/crm/contacts/export.csv?owner=abc").status_code == 400


def test_records_api_still_routes(api, contact):
    assert api.get(f"/api/crm/contacts/{contact.pk}").status_code == 200
