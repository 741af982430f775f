"""Every membership change is recorded — by a sync run, a live update or by hand — and the
segment page, its changes page and the API show who joined and left."""

import pytest

from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from segments import services
from segments.live import update_live_segments
from segments.models import MembershipChange
from segments.sync import sync_segment
from segments.tests.live_world import US, all_of, changes, make_live, one

URL = "/api/crm/segments"


@pytest.fixture
def americans(cast, manager):
    return services.create_segment(name="Americans", criteria=all_of(US), user=manager)


def test_a_sync_records_its_joins_and_leaves_with_the_run(cast, americans, manager):
    first = sync_segment(americans, manager)
    services.update_segment(
        americans, user=manager, criteria=all_of(one("country", "in", ["US", "GB"]))
    )
    Contact.objects.filter(first_name="Dee").update(country="CA")

    second = sync_segment(americans, manager)

    assert (first.added, first.removed) == (2, 0)
    assert (second.added, second.removed) == (1, 1)
    for run in (first, second):
        rows = MembershipChange.objects.filter(sync_run=run)
        assert rows.filter(change="joined").count() == run.added
        assert rows.filter(change="left").count() == run.removed
        assert set(rows.values_list("reason", flat=True)) == {"sync"}
        assert all(
            row.changed_at == run.started_at or row.changed_at <= run.finished_at for row in rows
        )
    # Leavers go first, then newcomers join: one moment, the sync's.
    assert changes(americans, sync_run=second) == [
        ("Dee", "left", "sync"),
        ("Bob", "joined", "sync"),
    ]


def test_a_sync_without_changes_records_none(cast, americans, manager):
    sync_segment(americans, manager)

    run = sync_segment(americans, manager)

    assert not MembershipChange.objects.filter(sync_run=run).exists()


def test_manual_additions_dropped_by_a_sync_are_recorded_as_leaving(cast, americans, manager):
    services.add_member(americans, cast["Bob"], manager)  # meets no condition

    run = sync_segment(americans, manager)

    assert run.removed == 1
    assert changes(americans) == [
        ("Bob", "joined", "manual"),
        ("Bob", "left", "sync"),
        ("Ann", "joined", "sync"),
        ("Dee", "joined", "sync"),
    ]


def test_changes_by_hand_name_who_made_them(cast, americans, manager):
    services.add_member(americans, cast["Cy"], manager)
    services.remove_member(americans, cast["Cy"], manager)
    services.remove_member(americans, cast["Cy"], manager)  # not a member: nothing recorded

    rows = list(MembershipChange.objects.filter(segment=americans).order_by("pk"))
    assert [(r.change, r.reason, r.changed_by, r.sync_run) for r in rows] == [
        ("joined", "manual", manager, None),
        ("left", "manual", manager, None),
    ]


def test_live_updates_are_recorded_as_such(cast, django_capture_on_commit_callbacks):
    americans = make_live(django_capture_on_commit_callbacks, "Americans", all_of(US))
    Contact.objects.filter(first_name="Ann").update(country="GB")
    Contact.objects.filter(first_name="Bob").update(country="US")

    update_live_segments([cast["Ann"].pk, cast["Bob"].pk])

    live = MembershipChange.objects.filter(segment=americans, reason="live")
    assert sorted(live.values_list("contact__first_name", "change")) == [
        ("Ann", "left"),
        ("Bob", "joined"),
    ]
    assert not live.filter(sync_run__isnull=False).exists()


def test_a_failed_sync_records_no_change(cast, americans, manager, monkeypatch):
    monkeypatch.setattr("segments.sync.insert_newcomers", lambda *a, **k: 1 / 0)

    run = sync_segment(americans, manager)

    assert run.outcome == "failed"
    assert not MembershipChange.objects.exists()


# --- the segment page ------------------------------------------------------------------------


def test_the_segment_page_shows_who_joined_and_left(cast, americans, manager, browser_client):
    sync_segment(americans, manager)
    services.remove_member(americans, cast["Dee"], manager)

    page = browser_client.get(f"/admin/crm-segments/{americans.pk}").content.decode()

    assert "Joined and left recently" in page
    assert f'href="/admin/contacts/{cast["Dee"].pk}"' in page
    assert "Removed by hand by manager" in page
    assert "Sync: matched the criteria" in page
    assert f'hx-get="/admin/crm-segments/{americans.pk}/changes"' in page


def test_the_panel_is_a_partial_for_htmx(cast, americans, manager, browser_client):
    sync_segment(americans, manager)

    response = browser_client.get(
        f"/admin/crm-segments/{americans.pk}/changes", HTTP_HX_REQUEST="true"
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div class="panel" id="membership-changes"')
    assert "<html" not in body
    assert body.count('<span class="badge change-joined">') == 2


def test_the_panel_polls_only_for_a_live_segment(cast, americans, browser_client, manager):
    manual = browser_client.get(
        f"/admin/crm-segments/{americans.pk}/changes", HTTP_HX_REQUEST="true"
    )
    services.update_segment(americans, user=manager, mode="live")
    live = browser_client.get(f"/admin/crm-segments/{americans.pk}/changes", HTTP_HX_REQUEST="true")

    assert "every 15s" not in manual.content.decode()
    assert "every 15s" in live.content.decode()


def test_an_edit_by_hand_tells_the_panel_to_reload(cast, americans, browser_client):
    response = browser_client.post(
        f"/admin/crm-segments/{americans.pk}/members",
        {"contact_id": cast["Bob"].pk},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "segmentMembersEdited"


def test_the_changes_page_filters_and_pages(cast, americans, manager, browser_client):
    sync_segment(americans, manager)
    services.remove_member(americans, cast["Ann"], manager)
    url = f"/admin/crm-segments/{americans.pk}/changes"

    every = browser_client.get(url).content.decode()
    left = browser_client.get(url, {"change": "left"}).content.decode()
    wrong = browser_client.get(url, {"change": "stayed"})

    assert "Showing 1–3 of 3 changes" in every
    assert "Showing 1–1 of 1 change" in left and "Removed by hand" in left
    assert wrong.status_code == 400
    assert "change: expected “joined” or “left”, not “stayed”." in wrong.content.decode()


def test_seeing_changes_needs_view_crm_segments(americans, client, nobody):
    client.force_login(nobody)
    assert client.get(f"/admin/crm-segments/{americans.pk}/changes").status_code == 403


# --- the API ---------------------------------------------------------------------------------


def test_the_api_lists_changes_newest_first(cast, americans, manager, api):
    run = sync_segment(americans, manager)
    services.remove_member(americans, cast["Ann"], manager)

    response = api.get(f"{URL}/{americans.pk}/changes")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    newest = body["results"][0]
    assert newest["contact"] == cast["Ann"].pk
    assert newest["contact_name"] == "Ann Archer"
    assert (newest["change"], newest["reason"], newest["changed_by"]) == (
        "left",
        "manual",
        manager.pk,
    )
    assert {row["sync_run"] for row in body["results"][1:]} == {run.pk}


def test_the_api_filters_by_change_and_refuses_another_word(cast, americans, manager, api):
    sync_segment(americans, manager)
    services.remove_member(americans, cast["Ann"], manager)

    left = api.get(f"{URL}/{americans.pk}/changes", {"change": "left"})
    wrong = api.get(f"{URL}/{americans.pk}/changes", {"change": "stayed"})

    assert [row["change"] for row in left.json()["results"]] == ["left"]
    assert wrong.status_code == 400
    assert wrong.json() == {"change": ["expected “joined” or “left”, not “stayed”."]}


def test_the_api_list_needs_the_same_queries_for_2_rows_as_for_8(
    cast, americans, manager, api, django_assert_num_queries
):
    sync_segment(americans, manager)
    url = f"{URL}/{americans.pk}/changes"
    api.get(url)  # the token's first use is written down once
    with CaptureQueriesContext(connection) as two:
        assert api.get(url).json()["count"] == 2
    for person in Contact.objects.exclude(first_name__in=["Ann", "Dee"]):
        services.add_member(americans, person, manager)
        services.remove_member(americans, person, manager)
    services.remove_member(americans, cast["Ann"], manager)
    services.remove_member(americans, cast["Dee"], manager)

    with django_assert_num_queries(len(two.captured_queries)):
        assert api.get(url).json()["count"] == 8


def test_changes_go_with_their_contact_and_their_segment(cast, americans, manager):
    from contacts.services import delete_contact
    from tags.counters import recount_tags

    recount_tags()  # the cast's tag links were made without the counters
    sync_segment(americans, manager)
    services.add_member(americans, cast["Cy"], manager)

    delete_contact(cast["Ann"])
    assert not MembershipChange.objects.filter(contact_id=cast["Ann"].pk).exists()
    assert MembershipChange.objects.filter(segment=americans).count() == 2  # Dee's, Cy's

    services.delete_segment(americans, manager)
    assert not MembershipChange.objects.exists()
