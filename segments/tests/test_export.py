"""CSV export: header, rows, formula neutralisation, streaming."""

import csv
import io

import pytest

from django.http import StreamingHttpResponse

from contacts.models import Contact
from segments import services
from segments.export import HEADER, neutralise
from segments.sync import sync_segment
from segments.tests.conftest import make_contact

URL = "/api/crm/segments"


@pytest.fixture
def segment(cast, admin_user):
    segment = services.create_segment(
        name="Americans",
        user=admin_user,
        criteria={"conditions": [{"field": "country", "operator": "equals", "value": "US"}]},
    )
    sync_segment(segment, admin_user)
    return segment


def read(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


@pytest.mark.parametrize("accept", [None, "text/csv", "*/*"])
def test_export_streams_members_as_csv(api, segment, cast, rep, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = api.get(f"{URL}/{segment.pk}/export.csv", **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="segment-americans-')
    rows = read(response)
    assert (
        rows[0]
        == HEADER
        == [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "company",
            "country",
            "owner",
            "tags",
            "added_how",
            "added_at",
        ]
    )
    by_name = {row[1]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    assert set(by_name) == {"Ann", "Dee"}
    ann = by_name["Ann"]
    assert ann["id"] == str(cast["Ann"].pk)
    assert ann["email"] == "ann@acme.example"
    assert ann["phone"] == "'+1 555 0100"  # a leading + is neutralised too
    assert ann["country"] == "US"
    assert ann["owner"] == str(rep)
    assert ann["tags"] == "enterprise; vip"
    assert ann["added_how"] == "rule"
    assert ann["added_at"].startswith(str(segment.runs.get().finished_at.year))


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 555", "'+1 555"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Acme = good", "Acme = good"),
        ("", ""),
    ],
)
def test_neutralise(cell, expected):
    assert neutralise(cell) == expected


def test_formula_cells_in_contact_fields_are_neutralised(api, admin_user, db):
    evil = make_contact("=cmd|' /C calc'!A0", last_name="@SUM(1)", company="-10+20", country="US")
    segment = services.create_segment(name="Evil", user=admin_user)
    services.add_member(segment, evil, admin_user)

    rows = read(api.get(f"{URL}/{segment.pk}/export.csv"))

    assert rows[1][1:3] == ["'=cmd|' /C calc'!A0", "'@SUM(1)"]
    assert rows[1][5] == "'-10+20"
    assert rows[1][9] == "manual"


def test_export_of_many_members_reads_in_chunks(api, admin_user, db, django_assert_max_num_queries):
    Contact.objects.bulk_create([Contact(first_name=f"C{n}", country="FR") for n in range(2_500)])
    segment = services.create_segment(
        name="French",
        user=admin_user,
        criteria={"conditions": [{"field": "country", "operator": "equals", "value": "FR"}]},
    )
    sync_segment(segment, admin_user)

    response = api.get(f"{URL}/{segment.pk}/export.csv")
    with django_assert_max_num_queries(6):  # two chunks of members, each with its tags
        rows = read(response)

    assert len(rows) == 2_501
