"""The PostgreSQL export (one COPY, everything formatted in SQL) writes the very bytes the
Python writer writes, on data made to trip either one up; SQLite runs the Python writer."""

from datetime import UTC, datetime, timedelta

import pytest

from django.utils import timezone

from contacts.models import Contact
from core import csv as core_csv
from segments import services
from segments.export import csv_chunks, export_rows
from segments.models import SegmentMember
from tags.models import ContactTag, Tag

TRICKY = [
    'quote " inside',
    '"starts with a quote',
    "comma, inside",
    "new\nline",
    "carriage\rreturn",
    "crlf\r\nboth",
    "tab\tinside",
    "back\\slash \\n not a newline",
    "=SUM(A1:A9)",
    "+1 555 0100",
    "-5",
    "@cmd",
    "\tleading tab",
    "\rleading cr",
    "'already quoted",
    "Zoë Ærøskøbing 東京 🎉",
    "straße İstanbul",
    "  spaces around  ",
    "",
]
TAG_NAMES = [
    "beta",
    "Alpha",
    "émile",
    "Zed",
    "a,b",
    "x;y",
    '"quoted"',
    "=cmd",
    "-minus",
    "ünïcode",
    "東京",
    "new\nline tag",
]


@pytest.fixture
def tricky_segment(make_user, admin_user):
    owner = make_user("owner", first_name="=Eve", last_name='O"Neil, Jr')
    plain = make_user("plain")
    tags = [
        Tag.objects.create(name=name, slug=f"t{i}", color="#2563eb")
        for i, name in enumerate(TAG_NAMES)
    ]
    segment = services.create_segment(name="Tricky", user=admin_user)
    base = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # a DST change in Europe that night
    for i in range(60):
        value = TRICKY[i % len(TRICKY)]
        contact = Contact.objects.create(
            first_name=value,
            last_name=TRICKY[(i * 7) % len(TRICKY)],
            email=f"c{i}@example.com" if i % 5 else "",
            phone=TRICKY[(i * 3) % len(TRICKY)],
            company=TRICKY[(i * 11) % len(TRICKY)],
            country=["US", "GB", "", "DE"][i % 4],
            owner=[owner, plain, None][i % 3],
        )
        for tag in tags[: i % (len(tags) + 1)] if i % 2 else tags[-(i % 4) :]:
            ContactTag.objects.create(record=contact, tag=tag)
        services.add_member(segment, contact, admin_user)
        added_at = base + timedelta(hours=i * 7, microseconds=0 if i % 3 else 123456 * (i + 1))
        SegmentMember.objects.filter(segment=segment, contact=contact).update(added_at=added_at)
    return segment


def python_writer(segment) -> str:
    """Today's writer: rows from the ORM, cells neutralised and quoted by Python."""
    return "".join(core_csv.csv_chunks(export_rows(segment)))


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/St_Johns", "Asia/Kolkata"])
def test_the_export_is_byte_identical_to_the_python_writer(tricky_segment, zone):
    with timezone.override(zone):
        expected = python_writer(tricky_segment)
        counted = []
        actual = "".join(csv_chunks(tricky_segment, on_rows=counted.append))

    assert actual.encode() == expected.encode()
    assert expected.count("\r\n") > 60  # the data did reach the file
    assert counted[-1] == 60


def test_an_empty_segment_is_the_header_alone(admin_user):
    segment = services.create_segment(name="Nobody", user=admin_user)

    assert "".join(csv_chunks(segment)) == python_writer(segment)
