"""The segments API under /api/crm/segments, as an integrator with a Bearer token sees it."""

import pytest

from rest_framework.test import APIClient

from contacts.models import Contact
from segments import services, sync
from segments.models import Segment, SegmentMember, SegmentRemoval, SyncRun
from segments.sync import SyncInProgress
from tags.models import ContactTag

URL = "/api/crm/segments"
US = {"match": "all", "conditions": [{"field": "country", "operator": "equals", "value": "US"}]}


@pytest.fixture
def segment(cast, admin_user) -> Segment:
    return services.create_segment(name="Americans", criteria=US, user=admin_user)


@pytest.fixture
def synced(segment, admin_user) -> Segment:
    sync.sync_segment(segment, admin_user)
    segment.refresh_from_db()
    return segment


# --- segments ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [URL, URL + "/"])
def test_list_answers_with_and_without_trailing_slash(api, synced, path):
    response = api.get(path)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == synced.pk
    assert row["name"] == "Americans"
    assert row["criteria"] == US
    assert row["member_count"] == 2
    assert row["last_synced_at"] is not None
    assert row["last_run"]["outcome"] == "succeeded"
    assert row["last_run"]["members_after"] == 2


@pytest.mark.parametrize("slash", ["", "/"])
def test_retrieve(api, segment, slash):
    response = api.get(f"{URL}/{segment.pk}{slash}")

    assert response.status_code == 200
    assert response.json()["last_run"] is None
    assert response.json()["member_count"] == 0


def test_unknown_segment_is_404_with_detail(api, db):
    for response in (
        api.get(f"{URL}/999999"),
        api.get(f"{URL}/999999/contacts"),
        api.post(f"{URL}/999999/sync"),
        api.get(f"{URL}/999999/export.csv"),
    ):
        assert response.status_code == 404
        assert "detail" in response.json()


def test_create(api, cast, admin_user):
    criteria = {
        "conditions": [
            {"field": "tags", "operator": "has", "value": cast.tags["enterprise"].pk},
            {"field": "country", "operator": "equals", "value": "US"},
        ]
    }

    response = api.post(
        URL,
        {"name": "Enterprise contacts in the US", "description": "Outreach", "criteria": criteria},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["criteria"] == {"match": "all", **criteria}
    assert body["member_count"] == 0
    assert body["created_by"] == admin_user.pk
    assert Segment.objects.get(pk=body["id"]).description == "Outreach"


def test_create_with_invalid_criteria_is_400_and_saves_nothing(api, db):
    criteria = {"conditions": [{"field": "country", "operator": "greater_than", "value": 1}]}

    response = api.post(URL, {"name": "Bad", "criteria": criteria}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "criteria": [
            "conditions[0].operator: 'greater_than' is not an operator for choice field "
            "'country'; use one of equals, not_equals, in, not_in, is_empty, is_not_empty"
        ]
    }
    assert not Segment.objects.exists()


def test_create_without_a_name_is_400(api, db):
    response = api.post(URL, {"criteria": US}, format="json")

    assert response.status_code == 400
    assert "name" in response.json()


def test_duplicate_name_is_400(api, segment):
    response = api.post(URL, {"name": "AMERICANS"}, format="json")

    assert response.status_code == 400
    assert response.json()["name"] == [
        "A segment named “Americans” already exists; names ignore case."
    ]


def test_patch_changes_only_what_is_given(api, segment):
    response = api.patch(f"{URL}/{segment.pk}", {"description": "New"}, format="json")

    assert response.status_code == 200, response.json()
    segment.refresh_from_db()
    assert (segment.name, segment.description, segment.criteria) == ("Americans", "New", US)


def test_patch_with_invalid_criteria_changes_nothing(api, segment):
    response = api.patch(
        f"{URL}/{segment.pk}/",
        {"name": "Renamed", "criteria": {"conditions": [{"field": "nope"}]}},
        format="json",
    )

    assert response.status_code == 400
    assert list(response.json()) == ["criteria"]
    segment.refresh_from_db()
    assert (segment.name, segment.criteria) == ("Americans", US)


def test_put_is_not_offered(api, segment):
    assert api.put(f"{URL}/{segment.pk}", {"name": "x"}, format="json").status_code == 405


def test_delete(api, synced):
    response = api.delete(f"{URL}/{synced.pk}")

    assert response.status_code == 204
    assert not Segment.objects.exists()
    assert not SegmentMember.objects.exists()
    assert not SyncRun.objects.exists()


def test_delete_of_a_segment_another_uses_is_409(api, segment, admin_user):
    services.create_segment(
        name="Others",
        criteria={
            "conditions": [{"field": "segment", "operator": "not_in_segment", "value": segment.pk}]
        },
        user=admin_user,
    )

    response = api.delete(f"{URL}/{segment.pk}")

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Segment “Americans” is used in the filter criteria of segment “Others”; "
        "change those criteria first."
    }


# --- sync and runs ----------------------------------------------------------------------------


@pytest.mark.parametrize("slash", ["", "/"])
def test_sync_answers_202_with_the_finished_job_without_a_broker(api, segment, admin_user, slash):
    response = api.post(f"{URL}/{segment.pk}/sync{slash}")

    assert response.status_code == 202, response.json()
    body = response.json()
    assert response["Location"] == body["url"]
    assert body["url"].endswith(f"/api/crm/jobs/{body['id']}")
    assert (body["kind"], body["state"], body["progress"], body["error"]) == (
        "segment_sync",
        "succeeded",
        100,
        "",
    )
    result = body["result"]
    assert (result["matched"], result["added"], result["removed"], result["members_after"]) == (
        2,
        2,
        0,
        2,
    )
    run = SyncRun.objects.get(pk=result["run_id"])
    assert (run.triggered_by, run.segment) == (admin_user, segment)
    assert api.get(body["url"]).json() == body


def test_sync_in_progress_is_a_failed_job_saying_so(api, segment, monkeypatch):
    def busy(segment, **kwargs):
        raise SyncInProgress(segment)

    monkeypatch.setattr(sync, "_take_sync_lock", busy)

    response = api.post(f"{URL}/{segment.pk}/sync")

    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "failed"
    assert body["error"] == "A sync of “Americans” is already in progress; try again shortly."
    assert not SyncRun.objects.exists()


def test_failed_sync_is_a_failed_job_with_the_failed_run(api, synced, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(sync, "_replace_membership", broken)

    response = api.post(f"{URL}/{synced.pk}/sync")

    assert response.status_code == 202
    body = response.json()
    assert body["state"] == "failed"
    assert body["error"] == "Sync failed; the membership is unchanged. RuntimeError: boom"
    assert body["result"]["outcome"] == "failed"
    assert SyncRun.objects.get(pk=body["result"]["run_id"]).error == "RuntimeError: boom"
    assert SegmentMember.objects.count() == 2


def test_runs_newest_first(api, segment, admin_user):
    first = sync.sync_segment(segment, admin_user)
    second = sync.sync_segment(segment, admin_user)

    response = api.get(f"{URL}/{segment.pk}/runs")

    assert response.status_code == 200
    assert [run["id"] for run in response.json()["results"]] == [second.pk, first.pk]
    assert response.json()["count"] == 2


# --- members ----------------------------------------------------------------------------------


def test_members_are_contact_payloads_with_how_and_when(api, synced, cast):
    response = api.get(f"{URL}/{synced.pk}/contacts")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    by_id = {row["id"]: row for row in body["results"]}
    assert set(by_id) == {cast["Ann"].pk, cast["Dee"].pk}
    ann = by_id[cast["Ann"].pk]
    contact_payload = api.get(f"/api/crm/contacts/{cast['Ann'].pk}").json()
    assert {k: v for k, v in ann.items() if k not in ("added_how", "added_at")} == contact_payload
    assert ann["added_how"] == "rule"
    assert ann["added_at"]


def test_members_search_and_paginate(api, synced, cast):
    response = api.get(f"{URL}/{synced.pk}/contacts", {"search": "dunn"})
    assert [row["id"] for row in response.json()["results"]] == [cast["Dee"].pk]

    page = api.get(f"{URL}/{synced.pk}/contacts/", {"page_size": 1}).json()
    assert len(page["results"]) == 1
    assert page["next"]


def test_members_endpoint_makes_a_fixed_number_of_queries(
    api, segment, admin_user, django_assert_max_num_queries, cast
):
    def page_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert api.get(f"{URL}/{segment.pk}/contacts").status_code == 200
        return len(queries)

    services.add_member(segment, cast["Ann"], admin_user)
    page_queries()  # the token's first use is recorded once
    few = page_queries()
    for n in range(30):
        contact = Contact.objects.create(first_name=f"P{n}", owner=admin_user, country="US")
        ContactTag.objects.create(record=contact, tag=cast.tags["vip"])
    sync.sync_segment(segment, admin_user)

    assert page_queries() == few
    with django_assert_max_num_queries(6):  # auth (2), segment, members page, tags
        api.get(f"{URL}/{segment.pk}/contacts")


def test_add_member_by_hand(api, segment, cast):
    response = api.post(
        f"{URL}/{segment.pk}/contacts", {"contact_id": cast["Bob"].pk}, format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["id"] == cast["Bob"].pk
    assert response.json()["added_how"] == "manual"
    again = api.post(f"{URL}/{segment.pk}/contacts/", {"contact_id": cast["Bob"].pk}, format="json")
    assert again.status_code == 200
    segment.refresh_from_db()
    assert segment.member_count == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"contact_id": 999999}, "Unknown contact 999999."),
        ({}, "This field is required."),
        ({"contact_id": "x"}, "A valid integer is required."),
    ],
)
def test_add_member_with_a_bad_contact_is_400(api, segment, payload, message):
    response = api.post(f"{URL}/{segment.pk}/contacts", payload, format="json")

    assert response.status_code == 400
    assert response.json() == {"contact_id": [message]}


def test_remove_member_by_hand(api, synced, cast):
    path = f"{URL}/{synced.pk}/contacts/{cast['Dee'].pk}"

    response = api.delete(path)

    assert response.status_code == 204
    assert SegmentRemoval.objects.filter(segment=synced, contact=cast["Dee"]).exists()
    assert api.delete(path + "/").status_code == 404
    assert api.post(f"{URL}/{synced.pk}/sync").json()["result"]["members_after"] == 1


def test_remove_a_non_member_is_404(api, synced, cast):
    response = api.delete(f"{URL}/{synced.pk}/contacts/{cast['Bob'].pk}")

    assert response.status_code == 404
    assert response.json() == {
        "detail": f"Contact {cast['Bob'].pk} is not a member of this segment."
    }
    assert not SegmentRemoval.objects.exists()


# --- preview and fields -----------------------------------------------------------------------


@pytest.mark.parametrize("slash", ["", "/"])
def test_preview(api, cast, slash):
    response = api.post(f"{URL}/preview{slash}", {"criteria": US}, format="json")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["count"] == 2
    # newest first, each the contact's payload
    assert [row["id"] for row in body["sample"]] == [cast["Dee"].pk, cast["Ann"].pk]
    assert body["sample"][0]["email"] == "dee@acme.example"


def test_preview_sample_size_and_empty_criteria(api, cast):
    body = api.post(f"{URL}/preview", {"criteria": US, "sample_size": 1}, format="json").json()
    assert (body["count"], len(body["sample"])) == (2, 1)

    body = api.post(f"{URL}/preview", {"criteria": {"conditions": []}}, format="json").json()
    assert body == {"count": 0, "sample": []}


def test_preview_with_invalid_criteria_is_400(api, db):
    response = api.post(
        f"{URL}/preview",
        {"criteria": {"conditions": [{"field": "tags", "operator": "has", "value": 424242}]}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"criteria": ["conditions[0].value: tag 424242 does not exist"]}


def test_preview_of_a_segment_refuses_itself(api, segment):
    criteria = {"conditions": [{"field": "segment", "operator": "in_segment", "value": segment.pk}]}

    response = api.post(
        f"{URL}/preview", {"criteria": criteria, "segment_id": segment.pk}, format="json"
    )

    assert response.status_code == 400
    assert "cannot test membership of itself" in response.json()["criteria"][0]


def test_fields_describe_the_registry(api, cast):
    response = api.get(f"{URL}/fields")

    assert response.status_code == 200
    body = response.json()
    fields = {f["name"]: f for f in body["fields"]}
    assert set(fields) >= {"country", "tags", "owner", "deals_count", "segment", "deal_stage"}
    country_ops = {op["name"]: op for op in fields["country"]["operators"]}
    assert country_ops["not_in"] == {
        "name": "not_in",
        "label": "is none of",
        "value": "choice_list",
        "negates": "in",
    }
    assert {"value": "US", "label": "United States of America"} in fields["country"]["choices"]
    enterprise = cast.tags["enterprise"]
    assert {
        "value": enterprise.pk,
        "label": "enterprise",
        "color": enterprise.color,
    } in fields["tags"]["choices"]
    assert fields["lead_score"]["choices"] is None
    assert body["max_depth"] == 4
    assert body["max_conditions"] == 100
    assert {m["value"] for m in body["matches"]} == {"all", "any", "none"}
    shapes = {op["value"] for f in body["fields"] for op in f["operators"]}
    assert shapes <= set(body["value_shapes"])


# --- authentication and permissions -----------------------------------------------------------


def test_without_credentials_is_401(segment):
    client = APIClient()

    for response in (
        client.get(URL),
        client.get(f"{URL}/fields"),
        client.post(f"{URL}/{segment.pk}/sync"),
        client.get(f"{URL}/{segment.pk}/export.csv"),
    ):
        assert response.status_code == 401


def requests_for(segment, contact):
    """(method, path, payload, needs) for every endpoint; needs is "view" or "manage"."""
    base = f"{URL}/{segment.pk}"
    return [
        ("get", URL, None, "view"),
        ("get", base, None, "view"),
        ("get", f"{base}/contacts", None, "view"),
        ("get", f"{base}/runs", None, "view"),
        ("get", f"{base}/export.csv", None, "view"),
        ("get", f"{URL}/fields", None, "view"),
        ("post", URL, {"name": "New one"}, "manage"),
        ("patch", base, {"description": "x"}, "manage"),
        ("post", f"{base}/sync", None, "manage"),
        ("post", f"{base}/contacts", {"contact_id": contact.pk}, "manage"),
        ("delete", f"{base}/contacts/{contact.pk}", None, "manage"),
        ("post", f"{URL}/preview", {"criteria": US}, "manage"),
        ("delete", base, None, "manage"),
    ]


@pytest.mark.parametrize(
    ("user_fixture", "may"),
    [
        ("admin_user", {"view", "manage"}),
        ("manager", {"view", "manage"}),
        ("rep", {"view"}),
        ("viewer", {"view"}),
        ("nobody", set()),
    ],
)
def test_permissions_per_role(request, api_client_for, segment, cast, user_fixture, may):
    client = api_client_for(request.getfixturevalue(user_fixture))

    for method, path, payload, needs in requests_for(segment, cast["Ann"]):
        response = getattr(client, method)(path, payload, format="json")
        if needs in may:
            assert response.status_code in (200, 201, 202, 204, 404), (
                method,
                path,
                response.content,
            )
        else:
            assert response.status_code == 403, (method, path)
            assert "detail" in response.json()
    if "manage" in may:
        assert not Segment.objects.filter(pk=segment.pk).exists()
    else:
        assert Segment.objects.filter(pk=segment.pk).exists()
        assert not SyncRun.objects.exists()


def test_seeded_roles_hold_the_named_permissions(db):
    from django.contrib.auth.models import Group, Permission

    names = dict(
        Permission.objects.filter(content_type__app_label="segments").values_list(
            "codename", "name"
        )
    )
    assert names == {
        "view_segment": "view crm segments",
        "manage_segment": "manage crm segments",
        "export_segment": "export crm segments",
    }
    held = {
        group.name: set(
            group.permissions.filter(content_type__app_label="segments").values_list(
                "codename", flat=True
            )
        )
        for group in Group.objects.all()
    }
    every = {"view_segment", "manage_segment", "export_segment"}
    assert held["Administrator"] == held["Sales manager"] == every
    assert held["Sales rep"] == held["Viewer"] == {"view_segment", "export_segment"}
