"""Criteria values the compiler cannot turn into SQL are refused when the criteria are
checked, with a message that says the range: once saved, they made every sync of the
segment fail, and a live one stopped every live segment from following changes."""

import json

import pytest

from segments.models import Segment

OUT_OF_RANGE = [
    ({"field": "created_at", "operator": "after", "value": "9999-12-31"}, "a date from"),
    ({"field": "created_at", "operator": "before", "value": "0001-01-01"}, "a date from"),
    (
        {"field": "last_activity_at", "operator": "between", "value": ["0001-01-01", "9999-12-31"]},
        "a date from",
    ),
    ({"field": "lead_score", "operator": "greater_than", "value": 10**30}, "a number from"),
    ({"field": "lead_score", "operator": "between", "value": [-1e308, 1e308]}, "a number from"),
    ({"field": "lead_score", "operator": "less_than", "value": -(10**400)}, "a number from"),
    ({"field": "tags", "operator": "has_any", "value": [2**63]}, "an id"),
    ({"field": "owner", "operator": "equals", "value": 2**63}, "an id"),
    ({"field": "segment", "operator": "in_segment", "value": 2**63}, "an id"),
]


@pytest.mark.parametrize(("condition", "message"), OUT_OF_RANGE, ids=lambda c: str(c)[:40])
@pytest.mark.parametrize("url", ["/api/crm/segments/preview", "/api/crm/segments"])
def test_a_value_no_database_can_compare_is_a_400_naming_the_range(api, url, condition, message):
    criteria = {"match": "all", "conditions": [condition]}

    response = api.post(url, {"name": "Out of range", "criteria": criteria}, format="json")

    assert response.status_code == 400, response.content
    assert message in json.dumps(response.json())
    assert not Segment.objects.filter(name="Out of range").exists()


def test_the_ends_of_the_ranges_are_accepted_and_sync(api):
    criteria = {"match": "all", "conditions": [
        {"field": "created_at", "operator": "between", "value": ["1000-01-01", "9998-12-31"]},
        {"field": "lead_score", "operator": "between", "value": [-(10**15), 10**15]},
    ]}  # fmt: skip
    created = api.post("/api/crm/segments", {"name": "Wide", "criteria": criteria}, format="json")
    assert created.status_code == 201, created.content

    synced = api.post(f"/api/crm/segments/{created.json()['id']}/sync")

    assert synced.status_code == 202
    assert synced.json()["state"] == "succeeded"


def test_an_integer_of_thousands_of_digits_in_the_form_is_a_form_error(browser_client):
    text = '{"match": "all", "conditions": [{"field": "lead_score", "operator": '
    text += '"greater_than", "value": ' + "9" * 5000 + "}]}"

    response = browser_client.post("/admin/crm-segments/new", {"name": "Huge", "criteria": text})

    assert response.status_code == 400
    assert "criteria: not valid JSON" in response.content.decode()
    assert not Segment.objects.filter(name="Huge").exists()
