"""Permissions mean exactly their names (#15 M5): what users holding single permissions
see in payloads, files and pages — not only whether they get in (the permission matrix).

"view crm segments" shows members by the fields that recognise them (name, email,
company); their contact details need "view crm contacts", their tags "view crm tags",
a file of them "export crm segments". "manage crm segments" reads no contact by itself.
A record's tags appear anywhere only with "view crm tags".
"""

import csv
import io
import json

import pytest

from django.contrib.auth.models import Permission

from contacts.models import Contact
from segments import services as segment_services
from segments.export import HEADER
from segments.jobs import request_export
from segments.models import SegmentMember
from tags import services as tag_services

VIEW_SEGMENTS = "segments.view_segment"
MANAGE_SEGMENTS = "segments.manage_segment"
EXPORT_SEGMENTS = "segments.export_segment"
VIEW_CONTACTS = "contacts.view_contact"
CHANGE_CONTACTS = "contacts.change_contact"
VIEW_TAGS = "tags.view_tag"
IDENTIFYING = ["id", "first_name", "last_name", "email", "company", "added_how", "added_at"]


@pytest.fixture
def holding(make_user):
    """`holding("segments.view_segment", …)`: a user with exactly those permissions."""
    count = 0

    def make(*permissions: str):
        nonlocal count
        count += 1
        user = make_user(f"holder {count}")
        for permission in permissions:
            app_label, codename = permission.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return user

    return make


@pytest.fixture
def vip(db):
    return tag_services.create_tag("vip", color="#dc2626")


@pytest.fixture
def segment(admin_user, contact, vip):
    """A segment with one member, Ada (owned by the Administrator, tagged vip)."""
    tag_services.attach_tag(contact, vip)
    segment = segment_services.create_segment(name="Brits", user=admin_user)
    segment_services.add_member(segment, contact, admin_user)
    return segment


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# --- "view crm segments" alone ------------------------------------------------------------------


def test_members_api_shows_only_identifying_fields(api_client_for, holding, segment, contact):
    client = api_client_for(holding(VIEW_SEGMENTS))

    members = client.get(f"/api/crm/segments/{segment.pk}/contacts").json()["results"]

    assert members == [
        {
            "id": contact.pk,
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@analytical.example",
            "company": "Analytical Engines",
            "added_how": "manual",
            "added_at": members[0]["added_at"],
        }
    ]


def test_members_api_with_contacts_and_tags_views_shows_the_contact_payload(
    api_client_for, holding, segment, vip
):
    without_tags = api_client_for(holding(VIEW_SEGMENTS, VIEW_CONTACTS))
    with_tags = api_client_for(holding(VIEW_SEGMENTS, VIEW_CONTACTS, VIEW_TAGS))
    url = f"/api/crm/segments/{segment.pk}/contacts"

    plain = without_tags.get(url).json()["results"][0]
    tagged = with_tags.get(url).json()["results"][0]

    assert "owner" in plain and "phone" in plain and "tags" not in plain
    assert tagged["tags"] == [{"id": vip.pk, "name": "vip", "color": "#dc2626"}]


def test_exporting_needs_export_crm_segments(api_client_for, client, holding, segment):
    user = holding(VIEW_SEGMENTS)
    client.force_login(user)

    assert api_client_for(user).get(f"/api/crm/segments/{segment.pk}/export.csv").status_code == 403
    assert api_client_for(user).post(f"/api/crm/segments/{segment.pk}/export").status_code == 403
    assert client.get(f"/admin/crm-segments/{segment.pk}/export.csv").status_code == 403
    page = client.get(f"/admin/crm-segments/{segment.pk}").content.decode()
    assert "Export CSV" not in page


@pytest.mark.parametrize(
    ("extra", "columns"),
    [
        ((), IDENTIFYING),
        ((VIEW_TAGS,), [*IDENTIFYING[:5], "tags", *IDENTIFYING[5:]]),
        ((VIEW_CONTACTS, VIEW_TAGS), HEADER),
    ],
)
def test_export_holds_the_columns_the_user_may_see(
    api_client_for, client, holding, segment, extra, columns
):
    user = holding(VIEW_SEGMENTS, EXPORT_SEGMENTS, *extra)
    client.force_login(user)

    from_api = csv_rows(api_client_for(user).get(f"/api/crm/segments/{segment.pk}/export.csv"))
    from_page = csv_rows(client.get(f"/admin/crm-segments/{segment.pk}/export.csv"))
    job = request_export(segment, user)  # without a broker it has run already
    from_job = csv_rows(client.get(f"/admin/jobs/{job.pk}/download"))

    assert from_api == from_page == from_job
    assert from_api[0] == columns
    row = dict(zip(columns, from_api[1], strict=True))
    assert row["email"] == "ada@analytical.example"
    assert ("vip" in from_api[1]) is (VIEW_TAGS in extra)


def test_someone_elses_export_file_is_not_theirs_to_open(
    api_client_for, holding, admin_user, segment
):
    # given the Administrator's export (every column, tags included)
    job = request_export(segment, admin_user)
    reader = api_client_for(holding(VIEW_SEGMENTS, EXPORT_SEGMENTS))

    assert reader.get(f"/api/crm/jobs/{job.pk}").status_code == 404
    assert reader.get(f"/api/crm/jobs/{job.pk}/download").status_code == 404


def test_fields_list_tags_only_for_those_who_may_see_them(api_client_for, holding, vip):
    def tag_choices(user):
        fields = api_client_for(user).get("/api/crm/segments/fields").json()["fields"]
        return next(field["choices"] for field in fields if field["type"] == "tags")

    assert tag_choices(holding(VIEW_SEGMENTS)) == []
    assert [choice["label"] for choice in tag_choices(holding(VIEW_SEGMENTS, VIEW_TAGS))] == ["vip"]


# --- "manage crm segments" without "view crm contacts" ------------------------------------------


def test_segment_manager_cannot_read_contacts_by_adding_them(
    api_client_for, client, holding, segment
):
    stranger = Contact.objects.create(first_name="Secret", email="secret@x.example")
    user = holding(VIEW_SEGMENTS, MANAGE_SEGMENTS)
    client.force_login(user)

    by_api = api_client_for(user).post(
        f"/api/crm/segments/{segment.pk}/contacts", {"contact_id": stranger.pk}, format="json"
    )
    by_page = client.post(f"/admin/crm-segments/{segment.pk}/members", {"contact_id": stranger.pk})
    picker = client.get(f"/admin/crm-segments/{segment.pk}/contact-search", {"q": "Secret"})

    removed = client.post(
        f"/admin/crm-segments/{segment.pk}/members/{stranger.pk}/remove", follow=True
    )

    assert (by_api.status_code, by_page.status_code, picker.status_code) == (403, 403, 403)
    assert "That contact was not a member." in removed.content.decode()
    assert "Secret" not in removed.content.decode()
    assert "secret@x.example" not in by_api.content.decode()
    assert not SegmentMember.objects.filter(segment=segment, contact=stranger).exists()


def test_segment_manager_preview_counts_but_shows_no_contact(
    api_client_for, client, holding, contact
):
    user = holding(VIEW_SEGMENTS, MANAGE_SEGMENTS)
    client.force_login(user)
    criteria = {
        "match": "all",
        "conditions": [{"field": "country", "operator": "equals", "value": "GB"}],
    }

    by_api = api_client_for(user).post(
        "/api/crm/segments/preview", {"criteria": criteria}, format="json"
    )
    by_page = client.post("/admin/crm-segments/preview", {"criteria": json.dumps(criteria)})

    assert by_api.json() == {"count": 1, "sample": []}
    assert "Lovelace" not in by_page.content.decode()
    with_contacts = api_client_for(holding(VIEW_SEGMENTS, MANAGE_SEGMENTS, VIEW_CONTACTS))
    sample = with_contacts.post(
        "/api/crm/segments/preview", {"criteria": criteria}, format="json"
    ).json()["sample"]
    assert [person["last_name"] for person in sample] == ["Lovelace"]


# --- a record's tags need "view crm tags" -------------------------------------------------------


def test_record_payloads_carry_tags_only_with_view_crm_tags(api_client_for, holding, contact, vip):
    tag_services.attach_tag(contact, vip)
    editor = holding(VIEW_CONTACTS, CHANGE_CONTACTS)
    Contact.objects.filter(pk=contact.pk).update(owner=editor)  # theirs to edit
    blind = api_client_for(editor)
    seeing = api_client_for(holding(VIEW_CONTACTS, VIEW_TAGS))

    listed = blind.get("/api/crm/contacts").json()["results"][0]
    opened = blind.get(f"/api/crm/contacts/{contact.pk}").json()
    edited = blind.patch(f"/api/crm/contacts/{contact.pk}", {"city": "Bath"}, format="json")

    assert "tags" not in listed and "tags" not in opened
    assert edited.status_code == 200 and "tags" not in edited.json()
    assert seeing.get(f"/api/crm/contacts/{contact.pk}").json()["tags"][0]["name"] == "vip"


def test_record_tag_endpoints_need_view_crm_tags(api_client_for, holding, admin_user, vip):
    user = holding(VIEW_CONTACTS, CHANGE_CONTACTS)
    own = Contact.objects.create(first_name="Mine", owner=user)
    tag_services.attach_tag(own, vip)
    client = api_client_for(user)
    url = f"/api/crm/contacts/{own.pk}/tags"

    answers = [
        client.get(url),
        client.post(url, {"tag_id": vip.pk}, format="json"),
        client.post(url, {"name": "no-such-tag"}, format="json"),  # was a tag-name oracle
        client.delete(f"{url}/{vip.pk}"),
        client.post("/api/crm/contacts/bulk-tags", {"ids": [own.pk], "remove": [vip.pk]}),
    ]

    assert [answer.status_code for answer in answers] == [403] * 5
    assert all("vip" not in answer.content.decode() for answer in answers)
    assert list(tag_services.record_tags(own)) == [vip]


def test_record_export_has_a_tags_column_only_with_view_crm_tags(
    api_client_for, client, holding, contact, vip
):
    tag_services.attach_tag(contact, vip)
    blind = holding(VIEW_CONTACTS)
    client.force_login(blind)

    from_api = csv_rows(api_client_for(blind).get("/api/crm/contacts/export.csv"))
    from_page = csv_rows(client.get("/admin/contacts/export.csv"))
    seeing = csv_rows(
        api_client_for(holding(VIEW_CONTACTS, VIEW_TAGS)).get("/api/crm/contacts/export.csv")
    )

    assert from_api == from_page
    assert "tags" not in from_api[0] and "vip" not in from_api[1]
    assert "tags" in seeing[0] and "vip" in seeing[1]
    assert set(from_api[0]) < set(seeing[0])  # the same columns otherwise
