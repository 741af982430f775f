"""A segment's mode: manual (the default, the guide's segments) or live, chosen on the form
and in the API; making a segment live fills it at once."""

import pytest

from django.core.exceptions import ValidationError

from audit.models import AuditEntry
from segments import services
from segments.models import Segment, SyncRun
from segments.tests.live_world import US, all_of, names

URL = "/api/crm/segments"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def test_a_new_segment_is_manual_and_waits_for_a_sync(cast, committed, manager):
    with committed(execute=True) as callbacks:
        segment = services.create_segment(name="Americans", criteria=all_of(US), user=manager)

    assert segment.mode == "manual"
    assert callbacks == []
    assert names(segment) == set()


def test_making_a_segment_live_runs_one_sync_after_the_commit(cast, committed, manager):
    segment = services.create_segment(name="Americans", criteria=all_of(US), user=manager)

    with committed(execute=False) as callbacks:
        services.update_segment(segment, user=manager, mode="live")
    assert names(segment) == set()  # not before the commit

    for callback in callbacks:
        callback()
    assert names(segment) == {"Ann", "Dee"}
    run = SyncRun.objects.get(segment=segment)
    assert (run.triggered_by, run.added) == (manager, 2)


def test_making_a_live_segment_manual_keeps_its_members_and_syncs_nothing(cast, committed, manager):
    with committed(execute=True):
        segment = services.create_segment(
            name="Americans", criteria=all_of(US), user=manager, mode="live"
        )

    with committed(execute=True) as callbacks:
        services.update_segment(segment, user=manager, mode="manual")

    assert callbacks == []
    assert names(segment) == {"Ann", "Dee"}
    assert SyncRun.objects.filter(segment=segment).count() == 1


def test_an_unknown_mode_is_refused_with_the_choices(db, manager):
    with pytest.raises(ValidationError) as refused:
        services.create_segment(name="Odd", user=manager, mode="sometimes")

    assert refused.value.message_dict == {"mode": ["Choose “manual” or “live”, not “sometimes”."]}
    assert not Segment.objects.exists()


def test_the_mode_change_is_in_the_audit_log(cast, committed, manager):
    segment = services.create_segment(name="Americans", criteria=all_of(US), user=manager)
    with committed(execute=True):
        services.update_segment(segment, user=manager, mode="live")

    entry = AuditEntry.objects.filter(action="segment.updated").latest("pk")
    assert entry.details["changes"] == {"mode": {"before": "manual", "after": "live"}}


# --- the pages -------------------------------------------------------------------------------


def test_the_form_offers_the_mode_and_saves_it(cast, committed, browser_client):
    form = browser_client.get("/admin/crm-segments/new").content.decode()
    assert 'name="mode" value="manual"' in form and 'name="mode" value="live"' in form

    with committed(execute=True):
        response = browser_client.post(
            "/admin/crm-segments/new",
            {
                "name": "Americans",
                "criteria": '{"conditions": [{"field": "country", '
                '"operator": "equals", "value": "US"}]}',
                "mode": "live",
            },
            follow=True,
        )

    segment = Segment.objects.get(name="Americans")
    assert segment.mode == "live"
    assert names(segment) == {"Ann", "Dee"}
    page = response.content.decode()
    assert "It is live: it fills now, then follows changes to contacts." in page
    assert '<span class="badge segment-live"' in page
    assert "Live: members follow changes to contacts" in page


def test_an_edit_without_the_mode_keeps_it(cast, committed, browser_client, manager):
    with committed(execute=True):
        segment = services.create_segment(
            name="Americans", criteria=all_of(US), user=manager, mode="live"
        )

    browser_client.post(
        f"/admin/crm-segments/{segment.pk}/edit", {"name": "US people", "criteria": ""}
    )

    segment.refresh_from_db()
    assert (segment.name, segment.mode) == ("US people", "live")


def test_the_list_marks_live_segments(cast, committed, browser_client, manager):
    services.create_segment(name="Manual one", user=manager)
    with committed(execute=True):
        services.create_segment(name="Live one", criteria=all_of(US), user=manager, mode="live")

    page = browser_client.get("/admin/crm-segments").content.decode()

    assert page.count('<span class="badge segment-live"') == 1
    live_row = page[page.index("Live one") :]
    assert live_row.index("segment-live") < live_row.index("</td>")


def test_adding_by_hand_what_a_live_segment_would_drop_shows_why(
    cast, committed, browser_client, manager
):
    with committed(execute=True):
        segment = services.create_segment(
            name="Americans", criteria=all_of(US), user=manager, mode="live"
        )

    response = browser_client.post(
        f"/admin/crm-segments/{segment.pk}/members",
        {"contact_id": cast["Bob"].pk},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 400
    assert "meets none of the conditions of “Americans”" in response.content.decode()
    assert "HX-Trigger" not in response


# --- the API ---------------------------------------------------------------------------------


def test_the_api_creates_a_live_segment(cast, committed, api):
    with committed(execute=True):
        response = api.post(
            URL, {"name": "Americans", "criteria": all_of(US), "mode": "live"}, format="json"
        )

    assert response.status_code == 201, response.json()
    assert response.json()["mode"] == "live"
    assert names(Segment.objects.get(pk=response.json()["id"])) == {"Ann", "Dee"}


def test_the_api_changes_the_mode_and_refuses_another_word(cast, committed, api, manager):
    segment = services.create_segment(name="Americans", criteria=all_of(US), user=manager)

    wrong = api.patch(f"{URL}/{segment.pk}", {"mode": "sometimes"}, format="json")
    with committed(execute=True):
        right = api.patch(f"{URL}/{segment.pk}", {"mode": "live"}, format="json")

    assert wrong.status_code == 400
    assert list(wrong.json()) == ["mode"]
    assert right.status_code == 200 and right.json()["mode"] == "live"
    assert names(segment) == {"Ann", "Dee"}


def test_the_api_adding_by_hand_to_a_live_segment_explains_a_refusal(cast, committed, api, manager):
    with committed(execute=True):
        segment = services.create_segment(
            name="Americans", criteria=all_of(US), user=manager, mode="live"
        )

    response = api.post(
        f"{URL}/{segment.pk}/contacts", {"contact_id": cast["Bob"].pk}, format="json"
    )

    assert response.status_code == 400
    assert "meets none of the conditions" in response.json()["contact_id"][0]


def test_the_schema_lists_the_modes(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    segment = schema["components"]["schemas"]["Segment"]["properties"]["mode"]
    enum = (
        segment.get("enum")
        or schema["components"]["schemas"][segment["allOf"][0]["$ref"].rsplit("/", 1)[-1]]["enum"]
    )
    assert enum == ["manual", "live"]
