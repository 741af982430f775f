"""Record ownership (#15 L6): a Sales rep edits and deletes only the records they own and
the activities they logged; Sales managers and Administrators edit all; everyone reads all.

Each surface — pages, API, bulk tagging, import — is tried by a rep holding one record
("mine") and not another ("theirs", the manager's).
"""

from decimal import Decimal

import pytest

from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.roles import ADMINISTRATOR, SALES_MANAGER, SALES_REP, VIEWER
from activities.models import Activity
from contacts.models import Contact
from core.ownership import editable_by, may_edit
from deals.models import Deal
from leads.models import Lead
from tags import services as tag_services
from tags.models import ContactTag

RECORDS = {
    "contacts": lambda owner, n: Contact.objects.create(
        first_name=f"Person {n}", email=f"p{n}@x.example", owner=owner
    ),
    "leads": lambda owner, n: Lead.objects.create(name=f"Lead {n}", owner=owner),
    "deals": lambda owner, n: Deal.objects.create(
        title=f"Deal {n}", value=Decimal("10"), owner=owner
    ),
}
EDITS = {"contacts": {"city": "Leeds"}, "leads": {"name": "Renamed"}, "deals": {"title": "Renamed"}}


@pytest.fixture
def pair(rep, manager):
    """Per record type, the rep's own record and the manager's."""
    return {
        kind: {"mine": make(rep, 1), "theirs": make(manager, 2)} for kind, make in RECORDS.items()
    }


@pytest.fixture
def vip(db):
    return tag_services.create_tag("vip")


def form_data(record) -> dict:
    """The record's edit form as posted back, with the one change of EDITS."""
    if isinstance(record, Contact):
        return {
            "first_name": record.first_name,
            "email": record.email,
            "city": "Leeds",
            "lifecycle_stage": "subscriber",
            "lead_score": 0,
            "owner": record.owner_id,
        }
    if isinstance(record, Lead):
        return {"name": "Renamed", "status": "new", "score": 0, "owner": record.owner_id}
    return {
        "title": "Renamed",
        "value": "10",
        "currency": "EUR",
        "stage": "qualification",
        "owner": record.owner_id,
    }


# --- the rule itself ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "edits_theirs"),
    [(ADMINISTRATOR, True), (SALES_MANAGER, True), (SALES_REP, False), (VIEWER, False)],
)
def test_who_edits_whose_records(make_user, pair, role, edits_theirs):
    user = make_user(f"a {role}", role)
    theirs = pair["contacts"]["theirs"]

    assert may_edit(user, theirs) is edits_theirs
    assert (theirs in editable_by(user, Contact.objects.all())) is edits_theirs


def test_a_rep_edits_what_they_own_and_nothing_unowned(rep, pair):
    unowned = Contact.objects.create(first_name="Nobody's")

    assert may_edit(rep, pair["contacts"]["mine"])
    assert not may_edit(rep, unowned)
    assert list(editable_by(rep, Contact.objects.all())) == [pair["contacts"]["mine"]]


# --- pages --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", RECORDS)
def test_record_page_shows_edit_only_on_the_reps_own(client, rep, pair, kind):
    client.force_login(rep)
    mine, theirs = pair[kind]["mine"], pair[kind]["theirs"]

    own_page = client.get(f"/admin/{kind}/{mine.pk}").content.decode()
    their_page = client.get(f"/admin/{kind}/{theirs.pk}")

    assert f'href="/admin/{kind}/{mine.pk}/edit"' in own_page
    assert their_page.status_code == 200  # still readable
    assert f'href="/admin/{kind}/{theirs.pk}/edit"' not in their_page.content.decode()


@pytest.mark.parametrize("kind", RECORDS)
def test_edit_page_refuses_someone_elses_record(client, rep, pair, kind):
    client.force_login(rep)
    mine, theirs = pair[kind]["mine"], pair[kind]["theirs"]

    refused = client.get(f"/admin/{kind}/{theirs.pk}/edit")
    assert refused.status_code == 403
    assert f"You may change and delete only {kind} you own" in refused.content.decode()
    assert client.post(f"/admin/{kind}/{theirs.pk}/edit", form_data(theirs)).status_code == 403
    assert client.post(f"/admin/{kind}/{mine.pk}/edit", form_data(mine)).status_code == 302

    theirs.refresh_from_db()
    mine.refresh_from_db()
    field, value = next(iter(EDITS[kind].items()))
    assert getattr(theirs, field) != value
    assert getattr(mine, field) == value


def test_manager_edits_and_deletes_a_reps_record(client, manager, pair):
    client.force_login(manager)
    mine = pair["contacts"]["mine"]  # the rep's

    assert client.post(f"/admin/contacts/{mine.pk}/edit", form_data(mine)).status_code == 302
    assert client.post(f"/admin/contacts/{mine.pk}/delete").status_code == 302
    assert not Contact.objects.filter(pk=mine.pk).exists()


def test_delete_page_refuses_someone_elses_activity_and_hides_its_button(client, rep, manager):
    contact = Contact.objects.create(first_name="Ada", owner=manager)
    mine = Activity.objects.create(subject="My call", contact=contact, owner=rep)
    theirs = Activity.objects.create(subject="Their call", contact=contact, owner=manager)
    client.force_login(rep)

    page = client.get(f"/admin/contacts/{contact.pk}").content.decode()
    refused = client.post(f"/admin/activities/{theirs.pk}/delete", HTTP_HX_REQUEST="true")
    allowed = client.post(f"/admin/activities/{mine.pk}/delete", HTTP_HX_REQUEST="true")

    assert f"/admin/activities/{mine.pk}/delete" in page
    assert f"/admin/activities/{theirs.pk}/delete" not in page
    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert list(Activity.objects.values_list("subject", flat=True)) == ["Their call"]


def test_tags_section_lets_a_rep_tag_only_their_own(client, rep, pair, vip):
    client.force_login(rep)
    mine, theirs = pair["contacts"]["mine"], pair["contacts"]["theirs"]
    tag_services.attach_tag(theirs, vip)

    their_page = client.get(f"/admin/contacts/{theirs.pk}").content.decode()
    attach = client.post(f"/admin/contacts/{theirs.pk}/tags", {"tag_id": vip.pk})
    detach = client.post(f"/admin/contacts/{theirs.pk}/tags/{vip.pk}/remove")
    own = client.post(f"/admin/contacts/{mine.pk}/tags", {"tag_id": vip.pk})

    assert 'role="combobox"' not in their_page  # no picker on someone else's record
    assert (attach.status_code, detach.status_code, own.status_code) == (403, 403, 302)
    assert sorted(ContactTag.objects.values_list("record_id", flat=True)) == sorted(
        [mine.pk, theirs.pk]
    )


def test_bulk_tagging_page_skips_others_records_and_says_how_many(client, rep, pair, vip):
    client.force_login(rep)
    mine, theirs = pair["contacts"]["mine"], pair["contacts"]["theirs"]

    response = client.post(
        "/admin/contacts/bulk-tags",
        {"op": "add", "tags": [vip.pk], "ids": [mine.pk, theirs.pk]},
    )

    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Added 'vip' to 1 contact.",
        "1 contact skipped: you may change only contacts you own.",
    ]
    assert list(ContactTag.objects.values_list("record_id", flat=True)) == [mine.pk]


def test_bulk_tagging_job_page_says_how_many_were_skipped(client, rep, pair, vip, settings):
    settings.COHORT_BULK_TAG_JOB_ABOVE = 1  # a job (run inline: no broker)
    client.force_login(rep)
    ids = [pair["contacts"]["mine"].pk, pair["contacts"]["theirs"].pk]

    response = client.post(
        "/admin/contacts/bulk-tags", {"op": "add", "tags": [vip.pk], "ids": ids}, follow=True
    )

    assert "Done: 1 tag link added, 0 removed. 1 record skipped: not yours." in (
        response.content.decode()
    )
    assert list(ContactTag.objects.values_list("record_id", flat=True)) == [ids[0]]


# --- API ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", RECORDS)
def test_api_refuses_changing_or_deleting_someone_elses_record(
    api_client_for, rep, manager, pair, kind
):
    client = api_client_for(rep)
    mine, theirs = pair[kind]["mine"], pair[kind]["theirs"]

    patch = client.patch(f"/api/crm/{kind}/{theirs.pk}", EDITS[kind], format="json")
    put = client.put(f"/api/crm/{kind}/{theirs.pk}", EDITS[kind], format="json")
    read = client.get(f"/api/crm/{kind}/{theirs.pk}")
    own = client.patch(f"/api/crm/{kind}/{mine.pk}", EDITS[kind], format="json")

    assert (patch.status_code, put.status_code, read.status_code) == (403, 403, 200)
    assert patch.json()["detail"].startswith(f"You may change and delete only {kind} you own")
    assert str(manager) in patch.json()["detail"]
    assert own.status_code == 200


def test_api_reassigning_own_record_to_anyone_but_not_others(api_client_for, rep, manager, pair):
    client = api_client_for(rep)
    mine, theirs = pair["deals"]["mine"], pair["deals"]["theirs"]

    given = client.patch(f"/api/crm/deals/{mine.pk}", {"owner": manager.pk}, format="json")
    taken = client.patch(f"/api/crm/deals/{theirs.pk}", {"owner": rep.pk}, format="json")

    assert (given.status_code, taken.status_code) == (200, 403)
    assert set(Deal.objects.values_list("owner", flat=True)) == {manager.pk}


def test_api_manager_changes_any_owners_record(api_client_for, manager, pair):
    mine = pair["leads"]["mine"]  # the rep's

    response = api_client_for(manager).patch(
        f"/api/crm/leads/{mine.pk}", {"name": "Taken over"}, format="json"
    )

    assert response.status_code == 200


def test_api_deletes_only_activities_one_logged(api_client_for, rep, manager):
    contact = Contact.objects.create(first_name="Ada")
    mine = Activity.objects.create(subject="Mine", contact=contact, owner=rep)
    theirs = Activity.objects.create(subject="Theirs", contact=contact, owner=manager)
    client = api_client_for(rep)

    refused = client.delete(f"/api/crm/activities/{theirs.pk}")
    edited = client.patch(f"/api/crm/activities/{theirs.pk}", {"subject": "x"}, format="json")
    allowed = client.delete(f"/api/crm/activities/{mine.pk}")

    assert (refused.status_code, edited.status_code, allowed.status_code) == (403, 403, 204)
    assert "activities you logged" in refused.json()["detail"]
    assert list(Activity.objects.values_list("subject", flat=True)) == ["Theirs"]


def test_api_attach_and_detach_only_on_own_records(api_client_for, rep, pair, vip):
    client = api_client_for(rep)
    mine, theirs = pair["deals"]["mine"], pair["deals"]["theirs"]
    tag_services.attach_tag(theirs, vip)

    attach = client.post(f"/api/crm/deals/{theirs.pk}/tags", {"tag_id": vip.pk}, format="json")
    detach = client.delete(f"/api/crm/deals/{theirs.pk}/tags/{vip.pk}")
    own = client.post(f"/api/crm/deals/{mine.pk}/tags", {"tag_id": vip.pk}, format="json")

    assert (attach.status_code, detach.status_code, own.status_code) == (403, 403, 201)
    assert "deals you own" in attach.json()["detail"]
    assert list(tag_services.record_tags(theirs)) == [vip]


@pytest.mark.parametrize("job_above", [10_000, 1])
def test_api_bulk_tagging_skips_others_records(api_client_for, rep, pair, vip, settings, job_above):
    settings.COHORT_BULK_TAG_JOB_ABOVE = job_above  # inline, or as a job (run inline here)
    ids = [pair["leads"]["mine"].pk, pair["leads"]["theirs"].pk]

    response = api_client_for(rep).post(
        "/api/crm/leads/bulk-tags", {"ids": ids, "add": [vip.pk]}, format="json"
    )

    result = response.json() if response.status_code == 200 else response.json()["result"]
    assert (result["matched"], result["skipped"], result["added"]) == (2, 1, 1)
    assert [lead.name for lead in Lead.objects.filter(tags=vip)] == ["Lead 1"]


# --- import -------------------------------------------------------------------------------------


def test_import_update_skips_others_records_with_a_reason(api_client_for, rep, pair):
    mine, theirs = pair["contacts"]["mine"], pair["contacts"]["theirs"]
    data = f"email,company\r\n{mine.email},Mine Ltd\r\n{theirs.email},Taken Ltd\r\n".encode()
    upload = SimpleUploadedFile("x.csv", data, content_type="text/csv")

    response = api_client_for(rep).post(
        "/api/crm/contacts/import",
        {"file": upload, "on_duplicate": "update", "dry_run": "false"},
        format="multipart",
    )

    body = response.json()
    assert response.status_code == 200, body
    assert body["summary"] == "0 new, 1 updated, 1 skipped (1 not yours), 0 errors"
    assert body["skipped_list"] == [
        {
            "row": 3,
            "column": "email",
            "reason": "Skipped: it updates a record someone else owns, "
            "and you may change only yours.",
        }
    ]
    assert dict(Contact.objects.values_list("email", "company")) == {
        mine.email: "Mine Ltd",
        theirs.email: "",
    }


def test_import_page_lists_the_rows_skipped_as_not_yours(client, rep, pair):
    theirs = pair["contacts"]["theirs"]
    client.force_login(rep)
    data = f"email,company\r\n{theirs.email},Taken Ltd\r\n".encode()
    upload = client.post(
        "/admin/contacts/import", {"file": SimpleUploadedFile("x.csv", data)}, follow=True
    )
    review = upload.redirect_chain[-1][0]

    page = client.post(
        review,
        {"map_0": "email", "map_1": "company", "on_duplicate": "update", "action": "dry_run"},
    ).content.decode()

    assert "1 row skipped: not yours to change" in page
    assert "Row 2: Skipped: it updates a record someone else owns" in page
