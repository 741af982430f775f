"""The segment pages under /admin/crm-segments, driven through Django's test client:
permissions for every role, the New Segment and edit forms, the live preview, Sync,
members (search, pages, add, Remove), Export CSV, delete, escaping and query budgets."""

import csv
import io
import json
import re
from datetime import timedelta

import pytest

from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from segments import services
from segments.criteria import describe_registry
from segments.models import Segment, SegmentMember, SegmentRemoval, SyncRun
from segments.sync import SyncInProgress, sync_segment
from segments.tests.conftest import make_tag
from tags.models import ContactTag
from testing.pages import queries_for

HTMX = {"HTTP_HX_REQUEST": "true"}
ROLES = ["admin_user", "manager", "rep", "viewer", "nobody"]
MANAGERS = {"admin_user", "manager"}
VIEWERS = MANAGERS | {"rep", "viewer"}


def enterprise_us(enterprise_id: int) -> dict:
    """The guide's first example: "Enterprise contacts in the US"."""
    return {
        "match": "all",
        "conditions": [
            {"field": "tags", "operator": "has", "value": enterprise_id},
            {"field": "country", "operator": "equals", "value": "US"},
        ],
    }


@pytest.fixture
def world(enterprise_people, admin_user):
    """The guide's example contacts and the segment "Enterprise contacts in the US"."""
    people = dict(enterprise_people)
    enterprise = people.pop("enterprise")
    segment = services.create_segment(
        name="Enterprise contacts in the US",
        description="For targeted email outreach",
        criteria=enterprise_us(enterprise.pk),
        user=admin_user,
    )
    return {"tag": enterprise, "segment": segment, **people}


def signed_in(client, request, role: str):
    if role != "anonymous":
        client.force_login(request.getfixturevalue(role))
    return client


def urls_of(segment: Segment, contact: Contact) -> dict[str, str]:
    return {
        "list": reverse("segment_list"),
        "detail": reverse("segment_detail", args=[segment.pk]),
        "export": reverse("segment_export", args=[segment.pk]),
        "new": reverse("segment_add"),
        "edit": reverse("segment_edit", args=[segment.pk]),
        "delete": reverse("segment_delete", args=[segment.pk]),
        "contact_search": reverse("segment_contact_search", args=[segment.pk]) + "?q=ann",
        "sync": reverse("segment_sync", args=[segment.pk]),
        "preview": reverse("segment_preview"),
        "add": reverse("segment_member_add", args=[segment.pk]),
        "remove": reverse("segment_member_remove", args=[segment.pk, contact.pk]),
    }


# --- permissions ------------------------------------------------------------------------------

VIEW_PAGES = ["list", "detail", "export"]
MANAGE_PAGES = ["new", "edit", "delete", "contact_search"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", VIEW_PAGES + MANAGE_PAGES)
def test_pages_by_role(client, request, world, role, page):
    signed_in(client, request, role)
    response = client.get(urls_of(world["segment"], world["ann"])[page])
    allowed = VIEWERS if page in VIEW_PAGES else MANAGERS
    assert response.status_code == (200 if role in allowed else 403)


@pytest.mark.parametrize("page", VIEW_PAGES + MANAGE_PAGES + ["sync", "add", "remove", "preview"])
def test_anonymous_goes_to_login(client, world, page):
    url = urls_of(world["segment"], world["ann"])[page]
    response = client.post(url) if page in {"sync", "add", "remove", "preview"} else client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login")


@pytest.mark.parametrize("role", ["rep", "viewer", "nobody"])
def test_changes_are_refused_without_manage_permission(client, request, world, role):
    # given a synced segment
    segment = world["segment"]
    sync_segment(segment, None)
    signed_in(client, request, role)
    urls = urls_of(segment, world["ann"])
    criteria = json.dumps(enterprise_us(world["tag"].pk))
    # when each change is posted
    posts = {
        "new": {"name": "Sneaky", "criteria": criteria},
        "edit": {"name": "Renamed", "criteria": criteria},
        "delete": {},
        "sync": {},
        "preview": {"criteria": criteria},
        "add": {"contact_id": world["eve"].pk},
        "remove": {},
    }
    for page, data in posts.items():
        # then each is 403 and nothing changes
        assert client.post(urls[page], data).status_code == 403, page
    assert Segment.objects.count() == 1
    segment.refresh_from_db()
    assert segment.name == "Enterprise contacts in the US"
    assert SyncRun.objects.count() == 1
    assert set(SegmentMember.objects.values_list("contact__first_name", flat=True)) == {
        "Ann",
        "Ben",
        "Cat",
    }


@pytest.mark.parametrize(
    "path",
    [
        "/admin/crm-segments",
        "/admin/crm-segments/",
        "/admin/crm-segments/new",
        "/admin/crm-segments/new/",
        "/admin/crm-segments/{id}",
        "/admin/crm-segments/{id}/",
        "/admin/crm-segments/{id}/edit",
        "/admin/crm-segments/{id}/edit/",
        "/admin/crm-segments/{id}/delete",
        "/admin/crm-segments/{id}/delete/",
        "/admin/crm-segments/{id}/export.csv",
        "/admin/crm-segments/{id}/export.csv/",
        "/admin/crm-segments/{id}/contact-search?q=a",
        "/admin/crm-segments/{id}/contact-search/?q=a",
    ],
)
def test_paths_with_and_without_trailing_slash(browser_client, world, path):
    response = browser_client.get(path.replace("{id}", str(world["segment"].pk)))
    assert response.status_code == 200


def test_post_only_endpoints_refuse_get(browser_client, world):
    urls = urls_of(world["segment"], world["ann"])
    for page in ["sync", "preview", "add", "remove"]:
        assert browser_client.get(urls[page]).status_code == 405, page


@pytest.mark.parametrize("role", ROLES)
def test_nav_and_buttons_follow_permissions(client, request, world, role):
    signed_in(client, request, role)
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert ('href="/admin/crm-segments"' in dashboard) == (role in VIEWERS)
    if role not in VIEWERS:
        return
    listing = client.get(reverse("segment_list")).content.decode()
    assert ("New Segment" in listing) == (role in MANAGERS)
    sync_segment(world["segment"], None)
    detail = client.get(reverse("segment_detail", args=[world["segment"].pk])).content.decode()
    assert "Export CSV" in detail
    for manage_only in [
        ">Sync</button>",
        ">Edit</a>",
        ">Delete</a>",
        ">Remove</button>",
        "Add a contact",
    ]:
        assert (manage_only in detail) == (role in MANAGERS), manage_only


# --- the list ---------------------------------------------------------------------------------


def test_list_shows_members_last_sync_and_outcome(browser_client, world):
    page = browser_client.get("/admin/crm-segments").content.decode()
    assert "Enterprise contacts in the US" in page
    assert "For targeted email outreach" in page
    assert "Never" in page

    sync_segment(world["segment"], None)
    three_hours_ago = timezone.now() - timedelta(hours=3, minutes=1)
    Segment.objects.filter(pk=world["segment"].pk).update(last_synced_at=three_hours_ago)
    page = browser_client.get("/admin/crm-segments").content.decode()
    row = re.search(
        r"<tr>\s*<td><a href=\"/admin/crm-segments/\d+\">Enterprise.*?</tr>", page, re.S
    )
    assert row, page
    assert '<td class="num">3</td>' in row.group(0)
    assert "3\xa0hours ago</time>" in row.group(0) and "Never" not in row.group(0)
    assert "Succeeded" in row.group(0)


def test_list_search_and_htmx_partial(browser_client, world):
    services.create_segment(name="Churn risk", user=None)
    page = browser_client.get("/admin/crm-segments", {"search": "churn"}).content.decode()
    assert "Churn risk" in page and "Enterprise contacts" not in page
    partial = browser_client.get("/admin/crm-segments", {"search": "enter"}, **HTMX)
    assert "<html" not in partial.content.decode()
    assert "Enterprise contacts in the US" in partial.content.decode()


# --- New Segment and edit ---------------------------------------------------------------------


def embedded_json(page: str, element_id: str):
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', page, re.S
    )
    assert match, f"no #{element_id}"
    return json.loads(match.group(1))


def test_new_segment_form_embeds_the_registry(browser_client, world):
    page = browser_client.get("/admin/crm-segments/new").content.decode()
    for label in ["Name", "Description", "Filter Criteria", "Save"]:
        assert label in page
    registry = embedded_json(page, "segment-fields")
    expected = describe_registry()
    assert [f["name"] for f in registry["fields"]] == [f["name"] for f in expected["fields"]]
    assert registry["max_depth"] == expected["max_depth"]
    tags = next(f for f in registry["fields"] if f["name"] == "tags")
    assert tags["choices"] == [
        {"value": world["tag"].pk, "label": "enterprise", "color": "#2563eb", "text": "#ffffff"}
    ]
    assert embedded_json(page, "segment-criteria-errors") == []
    assert 'src="/static/segments/criteria-builder.js"' in page


def test_create_through_the_form(browser_client, world, admin_user):
    criteria = enterprise_us(world["tag"].pk)
    response = browser_client.post(
        "/admin/crm-segments/new",
        {"name": "US enterprise", "description": "Outreach", "criteria": json.dumps(criteria)},
    )
    segment = Segment.objects.get(name="US enterprise")
    assert response.status_code == 302
    assert response["Location"] == f"/admin/crm-segments/{segment.pk}"
    assert segment.criteria == criteria
    assert segment.description == "Outreach"
    assert segment.created_by == admin_user
    page = browser_client.get(response["Location"]).content.decode()
    assert "Segment “US enterprise” created." in page


def test_invalid_criteria_are_shown_with_their_path_and_nothing_is_saved(browser_client, world):
    criteria = {
        "match": "all",
        "conditions": [
            {"field": "tags", "operator": "has", "value": world["tag"].pk},
            {"field": "country", "operator": "greater_than", "value": 3},
        ],
    }
    response = browser_client.post(
        "/admin/crm-segments/new", {"name": "Broken", "criteria": json.dumps(criteria)}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was saved" in page
    message = "conditions[1].operator: &#x27;greater_than&#x27; is not an operator for choice field"
    assert message in page
    assert embedded_json(page, "segment-criteria-errors")[0].startswith(
        "conditions[1].operator: 'greater_than' is not an operator"
    )
    # The form keeps what was typed, so it can be corrected.
    assert 'value="Broken"' in page
    assert "greater_than" in page
    assert not Segment.objects.filter(name="Broken").exists()


@pytest.mark.parametrize(
    "criteria, message",
    [
        ("{not json", "criteria: not valid JSON"),
        ("null", "criteria: expected an object"),
        ("[]", "criteria: expected an object"),
        ('{"match": "maybe", "conditions": []}', "match: &#x27;maybe&#x27; is not a way to match"),
        (
            '{"conditions": [{"field": "shoe_size", "operator": "equals", "value": 1}]}',
            "conditions[0].field: &#x27;shoe_size&#x27; is not a field",
        ),
        (
            '{"conditions": [{"field": "tags", "operator": "has", "value": 999999}]}',
            "conditions[0].value: tag 999999 does not exist",
        ),
    ],
)
def test_other_invalid_criteria(browser_client, world, criteria, message):
    response = browser_client.post("/admin/crm-segments/new", {"name": "X", "criteria": criteria})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Segment.objects.filter(name="X").exists()


def test_duplicate_name_is_refused(browser_client, world):
    response = browser_client.post(
        "/admin/crm-segments/new", {"name": "enterprise CONTACTS in the us", "criteria": ""}
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert Segment.objects.count() == 1


def test_empty_criteria_make_a_hand_made_list(browser_client, db):
    response = browser_client.post("/admin/crm-segments/new", {"name": "VIPs by hand"})
    assert response.status_code == 302
    assert Segment.objects.get().criteria == {"match": "all", "conditions": []}


def test_edit(browser_client, world):
    segment = world["segment"]
    url = f"/admin/crm-segments/{segment.pk}/edit"
    page = browser_client.get(url).content.decode()
    assert 'value="Enterprise contacts in the US"' in page
    assert "For targeted email outreach" in page
    assert "&quot;field&quot;: &quot;country&quot;" in page  # the criteria JSON, to edit

    criteria = {
        "match": "any",
        "conditions": [{"field": "country", "operator": "equals", "value": "GB"}],
    }
    response = browser_client.post(
        url, {"name": "UK", "description": "", "criteria": json.dumps(criteria)}
    )
    assert response.status_code == 302
    segment.refresh_from_db()
    assert (segment.name, segment.description, segment.criteria) == ("UK", "", criteria)


def test_edit_refused_keeps_the_segment(browser_client, world):
    segment = world["segment"]
    bad = {"conditions": [{"field": "segment", "operator": "in_segment", "value": segment.pk}]}
    response = browser_client.post(
        f"/admin/crm-segments/{segment.pk}/edit", {"name": "Renamed", "criteria": json.dumps(bad)}
    )
    assert response.status_code == 400
    assert "a segment cannot test membership of itself" in response.content.decode()
    segment.refresh_from_db()
    assert segment.name == "Enterprise contacts in the US"
    assert segment.criteria == enterprise_us(world["tag"].pk)


# --- preview ----------------------------------------------------------------------------------


def test_preview_counts_and_samples(browser_client, world):
    criteria = json.dumps(enterprise_us(world["tag"].pk))
    response = browser_client.post("/admin/crm-segments/preview", {"criteria": criteria})
    assert response.status_code == 200
    page = response.content.decode()
    assert "<strong>3</strong> contacts match now" in page
    for name in ["Ann Archer", "Ben Baker", "Cat Cole"]:
        assert name in page
    assert "Dan Dale" not in page and "Eve Evans" not in page
    assert f'href="/admin/contacts/{world["ann"].pk}"' in page


def test_preview_of_one_and_of_nothing(browser_client, world):
    one = {"conditions": [{"field": "email", "operator": "starts_with", "value": "eve@"}]}
    page = browser_client.post("/admin/crm-segments/preview", {"criteria": json.dumps(one)})
    assert "<strong>1</strong> contact matches now" in page.content.decode()
    empty = browser_client.post("/admin/crm-segments/preview", {"criteria": ""})
    assert "<strong>0</strong> contacts match now" in empty.content.decode()
    assert "No conditions" in empty.content.decode()


def test_preview_of_invalid_criteria(browser_client, world):
    bad = {"conditions": [{"field": "lead_score", "operator": "between", "value": [9, 1]}]}
    response = browser_client.post("/admin/crm-segments/preview", {"criteria": json.dumps(bad)})
    assert response.status_code == 400
    assert "conditions[0].value: the first number must not be after the second" in (
        response.content.decode()
    )


def test_preview_knows_the_segment_being_edited(browser_client, world):
    segment = world["segment"]
    itself = {"conditions": [{"field": "segment", "operator": "in_segment", "value": segment.pk}]}
    data = {"criteria": json.dumps(itself), "segment_id": segment.pk}
    response = browser_client.post("/admin/crm-segments/preview", data)
    assert response.status_code == 400
    assert "cannot test membership of itself" in response.content.decode()


# --- sync -------------------------------------------------------------------------------------


def test_sync_from_the_page_shows_the_result(browser_client, world):
    segment = world["segment"]
    response = browser_client.post(f"/admin/crm-segments/{segment.pk}/sync", follow=True)
    page = response.content.decode()
    assert response.redirect_chain == [(f"/admin/crm-segments/{segment.pk}", 302)]
    assert "Synced: +3 added, −0 removed, 3 members." in page
    for name in ["Ann Archer", "Ben Baker", "Cat Cole"]:
        assert name in page
    assert '<span class="value" id="member-count">3</span>' in page
    # The history lists the run.
    history = page.split('id="sync-history"')[1]
    assert "Succeeded" in history and "admin" in history


def test_sync_result_counts_added_and_removed(browser_client, world):
    segment = world["segment"]
    sync_segment(segment, None)
    Contact.objects.filter(pk=world["ann"].pk).update(country="FR")
    ContactTag.objects.create(record=world["eve"], tag=world["tag"])
    page = browser_client.post(f"/admin/crm-segments/{segment.pk}/sync", follow=True)
    assert "Synced: +1 added, −1 removed, 3 members." in page.content.decode()


def test_sync_in_progress_says_so_and_changes_nothing(browser_client, world, monkeypatch):
    segment = world["segment"]

    def busy(segment, user, **kwargs):
        raise SyncInProgress(segment)

    monkeypatch.setattr("segments.jobs.sync_segment", busy)
    response = browser_client.post(f"/admin/crm-segments/{segment.pk}/sync", follow=True)
    assert response.redirect_chain == [(f"/admin/crm-segments/{segment.pk}", 302)]
    assert "already in progress; try again shortly" in response.content.decode()
    assert not SyncRun.objects.filter(segment=segment).exists()


def test_failed_sync_is_shown_and_membership_kept(browser_client, world, monkeypatch):
    segment = world["segment"]
    sync_segment(segment, None)

    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("segments.sync._replace_membership", explode)
    response = browser_client.post(f"/admin/crm-segments/{segment.pk}/sync", follow=True)
    page = response.content.decode()
    assert "Sync failed; the membership is unchanged. RuntimeError: disk on fire" in page
    assert "Failed" in page
    assert SegmentMember.objects.filter(segment=segment).count() == 3


def test_history_chart_after_two_syncs(browser_client, world):
    segment = world["segment"]
    page = browser_client.get(f"/admin/crm-segments/{segment.pk}").content.decode()
    assert "Never synced yet." in page and "<svg" not in page
    sync_segment(segment, None)
    ContactTag.objects.create(record=world["eve"], tag=world["tag"])
    sync_segment(segment, None)
    page = browser_client.get(f"/admin/crm-segments/{segment.pk}").content.decode()
    assert '<svg viewBox="0 0 100 100" preserveAspectRatio="none" role="img"' in page
    assert page.count('<span class="chart-dot"') == 2
    # 3 members, then 4 (the peak): y runs from 8 (top) to 92 (zero) in the 100 × 100 box.
    assert '<polyline class="chart-line" points="2.00,29.00 98.00,8.00"' in page
    assert "from 3 on" in page and "to 4 on" in page


def test_detail_describes_the_criteria(browser_client, world):
    page = browser_client.get(f"/admin/crm-segments/{world['segment'].pk}").content.decode()
    assert "Contacts matching <strong>all</strong> of:" in page
    assert "<strong>Tags</strong> has" in page
    assert 'data-bg="#2563eb" data-fg="#ffffff"><span class="tag-chip-name">enterprise' in page
    assert "<strong>Country</strong> equals <em>United States of America</em>" in page


# --- members ----------------------------------------------------------------------------------


def test_members_table(browser_client, world, rep):
    segment = world["segment"]
    sync_segment(segment, None)
    services.add_member(segment, world["dan"], None)
    page = browser_client.get(f"/admin/crm-segments/{segment.pk}").content.decode()
    table = page.split('class="records member-table"')[1].split("</table>")[0]
    ann = re.search(r"<tr>.*?Ann Archer.*?</tr>", table, re.S).group(0)
    assert f'<a href="/admin/contacts/{world["ann"].pk}">Ann Archer</a>' in ann
    assert "ann@acme.example" in ann
    assert "United States of America" in ann
    assert f'<td class="hide-sm">{rep}</td>' in ann
    assert "tag-chip" in ann and "enterprise" in ann
    assert "Rule" in ann and "now</time>" in ann
    dan = re.search(r"<tr>.*?Dan Dale.*?</tr>", table, re.S).group(0)
    assert "Manual" in dan


def test_search_and_pages_of_members(browser_client, db):
    tag = make_tag("bulk")
    contacts = Contact.objects.bulk_create(
        Contact(first_name=f"Person{i:02}", last_name="Many", email=f"p{i:02}@many.example")
        for i in range(60)
    )
    ContactTag.objects.bulk_create(ContactTag(record=c, tag=tag) for c in contacts)
    segment = services.create_segment(
        name="Many",
        user=None,
        criteria={"conditions": [{"field": "tags", "operator": "has", "value": tag.pk}]},
    )
    sync_segment(segment, None)
    url = f"/admin/crm-segments/{segment.pk}"

    first = browser_client.get(url).content.decode()
    assert "Showing 1–50 of 51+ members" in first or "Showing 1–50 of 60 members" in first
    assert f'href="{url}?page=2"' in first

    second = browser_client.get(url, {"page": 2}, **HTMX).content.decode()
    assert "<html" not in second
    assert "Showing 51–60 of 60 members" in second
    assert f'href="{url}"' in second  # back to page 1

    found = browser_client.get(url, {"search": "person07"}, **HTMX).content.decode()
    assert "Person07 Many" in found
    assert "Showing 1–1 of 1 member matching “person07”" in found

    nothing = browser_client.get(url, {"search": "zebra"}, **HTMX).content.decode()
    assert "No members match “zebra”." in nothing


def test_remove_member_and_it_stays_removed(browser_client, world, admin_user):
    segment = world["segment"]
    sync_segment(segment, None)
    url = f"/admin/crm-segments/{segment.pk}/members/{world['ann'].pk}/remove"
    response = browser_client.post(url, follow=True)
    page = response.content.decode()
    assert "Removed Ann Archer." in page
    assert not SegmentMember.objects.filter(segment=segment, contact=world["ann"]).exists()
    assert (
        SegmentRemoval.objects.get(segment=segment, contact=world["ann"]).removed_by == admin_user
    )

    page = browser_client.post(f"/admin/crm-segments/{segment.pk}/sync", follow=True)
    assert "Synced: +0 added, −0 removed, 2 members." in page.content.decode()
    assert not SegmentMember.objects.filter(segment=segment, contact=world["ann"]).exists()


def test_remove_with_htmx_returns_the_table_and_new_count(browser_client, world):
    segment = world["segment"]
    sync_segment(segment, None)
    url = f"/admin/crm-segments/{segment.pk}/members/{world['ben'].pk}/remove?search=acme"
    response = browser_client.post(url, **HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert "Removed Ben Baker." in page
    assert '<span class="value" id="member-count" hx-swap-oob="true">2</span>' in page
    # The table keeps its search: only Ann is left matching "acme".
    assert "Showing 1–1 of 1 member matching “acme”" in page


def test_removing_a_non_member_changes_nothing(browser_client, world):
    segment = world["segment"]
    response = browser_client.post(
        f"/admin/crm-segments/{segment.pk}/members/{world['eve'].pk}/remove", follow=True
    )
    # Without her name: managing segments alone does not show contacts (#15 M5).
    assert "That contact was not a member." in response.content.decode()
    assert not SegmentRemoval.objects.exists()


def test_contact_picker_finds_contacts_and_marks_members(browser_client, world):
    segment = world["segment"]
    sync_segment(segment, None)
    url = f"/admin/crm-segments/{segment.pk}/contact-search"
    options = browser_client.get(url, {"q": "acme"}, **HTMX).content.decode()
    assert "<html" not in options
    assert "Ann Archer" in options and "Ben Baker" in options and "Eve" not in options
    assert options.count('<span class="badge">Member</span>') == 2

    options = browser_client.get(url, {"q": "eve"}, **HTMX).content.decode()
    assert 'aria-label="Add Eve Evans"' in options
    assert f'name="contact_id" value="{world["eve"].pk}"' in options

    nothing = browser_client.get(url, {"q": "zebra"}, **HTMX).content.decode()
    assert "No contacts match “zebra”." in nothing

    # Without JavaScript the picker's form lands on a page of its own.
    page = browser_client.get(url, {"q": "eve"}).content.decode()
    assert "<html" in page and "Add a contact to “Enterprise contacts in the US”" in page


def test_add_member_with_htmx(browser_client, world):
    segment = world["segment"]
    sync_segment(segment, None)
    url = f"/admin/crm-segments/{segment.pk}/members"
    response = browser_client.post(url, {"contact_id": world["eve"].pk}, **HTMX)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Added Eve Evans by hand" in page
    eve = re.search(r"<tr>.*?Eve Evans.*?</tr>", page, re.S).group(0)
    assert "Manual" in eve
    assert '<span class="value" id="member-count" hx-swap-oob="true">4</span>' in page
    assert '<div id="contact-picker" class="contact-picker" hx-swap-oob="true">' in page

    again = browser_client.post(url, {"contact_id": world["eve"].pk}, **HTMX)
    assert "Eve Evans is already a member." in again.content.decode()
    assert SegmentMember.objects.filter(segment=segment).count() == 4


def test_add_member_without_javascript_and_unknown_contact(browser_client, world):
    segment = world["segment"]
    url = f"/admin/crm-segments/{segment.pk}/members"
    response = browser_client.post(url, {"contact_id": world["dan"].pk})
    assert response.status_code == 302
    assert SegmentMember.objects.filter(segment=segment, contact=world["dan"]).exists()
    assert browser_client.post(url, {"contact_id": 987654}, **HTMX).status_code == 400
    assert browser_client.post(url, {"contact_id": "abc"}, **HTMX).status_code == 400


# --- Export CSV -------------------------------------------------------------------------------


def test_export_csv_from_the_page(browser_client, world):
    segment = world["segment"]
    sync_segment(segment, None)
    services.remove_member(segment, world["cat"], None)
    page = browser_client.get(f"/admin/crm-segments/{segment.pk}").content.decode()
    link = re.search(r'<a class="button" href="([^"]+)" download>Export CSV</a>', page)
    assert link
    response = browser_client.get(link.group(1))
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.match(
        r'attachment; filename="segment-enterprise-contacts-in-the-us-\d{8}\.csv"',
        response["Content-Disposition"],
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))
    assert rows[0][:4] == ["id", "first_name", "last_name", "email"]
    assert sorted(row[1] for row in rows[1:]) == ["Ann", "Ben"]
    assert {row[8] for row in rows[1:]} == {"enterprise"}


# --- delete -----------------------------------------------------------------------------------


def test_delete_with_confirmation(browser_client, world):
    segment = world["segment"]
    sync_segment(segment, None)
    page = browser_client.get(f"/admin/crm-segments/{segment.pk}/delete").content.decode()
    assert "Delete segment “Enterprise contacts in the US”?" in page
    assert "Its 3 members and its sync history are deleted with it." in page
    response = browser_client.post(f"/admin/crm-segments/{segment.pk}/delete", follow=True)
    assert response.redirect_chain == [("/admin/crm-segments", 302)]
    assert "Segment “Enterprise contacts in the US” deleted." in response.content.decode()
    assert not Segment.objects.exists()
    assert Contact.objects.count() == 5


def test_delete_refused_while_another_segment_uses_it(browser_client, world):
    segment = world["segment"]
    services.create_segment(
        name="Nested <b>user</b>",
        user=None,
        criteria={
            "conditions": [{"field": "segment", "operator": "in_segment", "value": segment.pk}]
        },
    )
    page = browser_client.get(f"/admin/crm-segments/{segment.pk}/delete").content.decode()
    assert "cannot be deleted" in page
    assert "Nested &lt;b&gt;user&lt;/b&gt;" in page
    assert "Delete segment</button>" not in page

    response = browser_client.post(f"/admin/crm-segments/{segment.pk}/delete")
    assert response.status_code == 409
    assert (
        "Segment “Enterprise contacts in the US” is used in the filter criteria of segment "
        "“Nested &lt;b&gt;user&lt;/b&gt;”" in response.content.decode()
    )
    assert Segment.objects.filter(pk=segment.pk).exists()


# --- escaping ---------------------------------------------------------------------------------


def test_names_are_escaped_everywhere(browser_client, world):
    evil = "<script>alert(1)</script>"
    segment = services.create_segment(
        name=evil,
        description=evil,
        user=None,
        criteria={"conditions": [{"field": "city", "operator": "equals", "value": evil}]},
    )
    Contact.objects.create(first_name=evil, last_name="", email="x@evil.example", city=evil)
    sync_segment(segment, None)
    pages = [
        "/admin/crm-segments",
        f"/admin/crm-segments/{segment.pk}",
        f"/admin/crm-segments/{segment.pk}/edit",
        f"/admin/crm-segments/{segment.pk}/delete",
        f"/admin/crm-segments/{world['segment'].pk}/edit",  # the evil name among segment choices
        f"/admin/crm-segments/{segment.pk}/contact-search?q=evil",
    ]
    for url in pages:
        page = browser_client.get(url).content.decode()
        assert "<script>alert(1)" not in page, url
    detail = browser_client.get(f"/admin/crm-segments/{segment.pk}").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    preview = browser_client.post(
        "/admin/crm-segments/preview", {"criteria": json.dumps(segment.criteria)}
    )
    assert "<script>alert(1)" not in preview.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in preview.content.decode()


# --- query budgets ----------------------------------------------------------------------------


def segment_of(size: int, owners) -> Segment:
    tags = [make_tag(f"t{size}-{n}") for n in range(3)]
    contacts = Contact.objects.bulk_create(
        Contact(
            first_name=f"C{i}",
            email=f"c{i}-{size}@q.example",
            country="US",
            owner=owners[i % len(owners)],
        )
        for i in range(size)
    )
    ContactTag.objects.bulk_create(
        ContactTag(record=c, tag=tag) for c in contacts for tag in tags[: 1 + c.pk % 3]
    )
    segment = services.create_segment(
        name=f"Budget {size}",
        user=None,
        criteria={"conditions": [{"field": "tags", "operator": "has", "value": tags[0].pk}]},
    )
    sync_segment(segment, None)
    services.remove_member(segment, contacts[0], None)
    services.add_member(segment, contacts[0], None)
    return segment


def test_members_table_queries_do_not_grow_with_members(browser_client, make_user, admin_user):
    owners = [admin_user, make_user("o1"), make_user("o2")]
    small, large = segment_of(5, owners), segment_of(50, owners)
    for extra in ({}, HTMX):
        small_count = queries_for(browser_client, f"/admin/crm-segments/{small.pk}", **extra)
        large_count = queries_for(browser_client, f"/admin/crm-segments/{large.pk}", **extra)
        assert small_count == large_count, extra
    # A fixed budget: session, user, permissions, segment, page, tags (+ the rest of the page).
    assert queries_for(browser_client, f"/admin/crm-segments/{large.pk}", **HTMX) <= 8


def test_list_queries_do_not_grow_with_segments(browser_client, db):
    for n in range(3):
        sync_segment(services.create_segment(name=f"S{n}", user=None), None)
    few = queries_for(browser_client, "/admin/crm-segments")
    for n in range(3, 30):
        sync_segment(services.create_segment(name=f"S{n}", user=None), None)
    assert queries_for(browser_client, "/admin/crm-segments") == few


def test_sync_summary_reads_like_the_spec():
    from segments.views import sync_summary

    run = SyncRun(added=120, removed=15, members_after=3456)
    assert sync_summary(run) == "+120 added, −15 removed, 3,456 members"
    assert sync_summary(SyncRun(added=1, removed=0, members_after=1)) == (
        "+1 added, −0 removed, 1 member"
    )
