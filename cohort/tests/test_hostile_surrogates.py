"""Hostile input: lone surrogates ("\\ud800"), which JSON can spell but are not text.

They cannot be encoded as UTF-8: PostgreSQL refuses them, and SQLite stored them in
JSON columns, after which every page showing the row failed. Every way in for JSON
refuses them with a 400 or a form error that says so, and writes nothing; a migration
mends rows stored before.
"""

import importlib
import json
from types import SimpleNamespace

import pytest

from django.apps import apps
from django.db import connection

from audit.models import AuditEntry
from contacts.models import Contact
from segments.models import Segment
from tags.models import Tag

LONE = "Ann\ud800Bob"
CRITERIA = {"match": "all", "conditions": [{"field": "city", "operator": "equals", "value": LONE}]}

API_WRITES = [
    ("/api/crm/segments", {"name": "s", "criteria": CRITERIA}),
    ("/api/crm/segments", {"name": LONE}),
    ("/api/crm/segments/preview", {"criteria": CRITERIA}),
    ("/api/crm/tags", {"name": LONE}),
    ("/api/crm/contacts", {"first_name": LONE}),
    ("/api/crm/contacts", {LONE: "a key that is not text"}),
]


def counts() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Segment, Tag, Contact, AuditEntry))


@pytest.mark.parametrize(("url", "body"), API_WRITES)
def test_a_lone_surrogate_in_api_json_is_a_400_that_says_so(api, url, body):
    before = counts()

    # json.dumps escapes it as \ud800, as any client's JSON would
    response = api.post(url, json.dumps(body), content_type="application/json")

    assert response.status_code == 400, response.content
    assert "lone surrogate" in response.json()["detail"]
    assert counts() == before


def test_a_lone_surrogate_in_the_criteria_form_is_a_form_error(browser_client):
    before = counts()

    response = browser_client.post(
        "/admin/crm-segments/new", {"name": "Typed", "criteria": json.dumps(CRITERIA)}
    )

    assert response.status_code == 400
    assert "lone surrogate" in response.content.decode()
    assert counts() == before


@pytest.mark.skipif(connection.vendor != "sqlite", reason="only SQLite ever stored them")
def test_the_migration_mends_rows_stored_before(browser_client, admin_user):
    # given a segment and an audit entry stored with a lone surrogate, as SQLite allowed
    segment = Segment.objects.create(name="Stored before", criteria=CRITERIA)
    entry = AuditEntry.objects.create(
        actor=admin_user, action="segment_created", target_type="segment", target_id=1,
        details={"criteria": CRITERIA, LONE: 1},
    )  # fmt: skip
    # when the migration's function runs
    migration = importlib.import_module("cohort.migrations.0001_clean_lone_surrogates")
    editor = SimpleNamespace(connection=connection, quote_name=connection.ops.quote_name)
    migration.clean_lone_surrogates(apps, editor)

    # then the rows hold text, and the pages that list them answer
    segment.refresh_from_db()
    entry.refresh_from_db()
    assert segment.criteria["conditions"][0]["value"] == "Ann\ufffdBob"
    assert entry.details == {"criteria": segment.criteria, "Ann\ufffdBob": 1}
    assert browser_client.get("/admin/crm-segments").status_code == 200
    assert browser_client.get("/admin/audit").status_code == 200
