"""A segment's members as CSV, streamed: memory stays flat at any size.

Rows are read 2,000 at a time as tuples (tags fetched per chunk) and written
in batches. Cells a spreadsheet would run as a formula (starting with = + - @,
tab or carriage return) get a leading single quote.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from cohort import csv_export
from cohort.csv_export import FORMULA_STARTS, batches, neutralise, tag_names
from segments.models import Segment, SegmentMember
from tags.models import ContactTag

HEADER = [
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
CHUNK_SIZE = 2_000
__all__ = ["FORMULA_STARTS", "HEADER", "csv_chunks", "export_filename", "neutralise"]


MEMBER_COLUMNS = [
    "contact_id",
    "contact__first_name",
    "contact__last_name",
    "contact__email",
    "contact__phone",
    "contact__company",
    "contact__country",
    "contact__owner_id",
    "added_how",
    "added_at",
]


def export_rows(segment: Segment) -> Iterator[list[str]]:
    """The header, then one row per member, newest first.

    Plain tuples, not model instances: at 300,000 members building objects
    would cost minutes. Tags come per chunk in one query; owners are few and cached.
    """
    yield HEADER
    members = (
        SegmentMember.objects.filter(segment=segment)
        .order_by("-added_at", "-contact_id")
        .values_list(*MEMBER_COLUMNS)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    owners: dict[int, str] = {}
    zone = timezone.get_current_timezone()
    for batch in batches(members, CHUNK_SIZE):
        tags = tag_names(ContactTag, [row[0] for row in batch])
        missing = {row[7] for row in batch if row[7] is not None} - set(owners)
        owners.update((user.pk, str(user)) for user in User.objects.filter(pk__in=missing))
        for contact_id, first, last, email, phone, company, country, owner, how, at in batch:
            yield [
                str(contact_id),
                first,
                last,
                email,
                phone,
                company,
                country or "",
                owners.get(owner, ""),
                "; ".join(tags.get(contact_id, ())),
                how,
                at.astimezone(zone).isoformat(),
            ]


def csv_chunks(segment: Segment) -> Iterator[str]:
    """UTF-8 CSV text in chunks of a few hundred rows, for a StreamingHttpResponse."""
    return csv_export.csv_chunks(export_rows(segment))


def export_filename(segment: Segment) -> str:
    return f"segment-{slugify(segment.name) or segment.pk}-{timezone.localdate():%Y%m%d}.csv"
