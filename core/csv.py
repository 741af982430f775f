"""Streaming CSV out of Cohort: formula neutralising, batching and per-chunk tag names.

Shared by the segment member export (segments.export) and the list exports
(transfers.export), so there is one CSV writer, one injection rule and one
download response (csv_response).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, tzinfo

from django.db.models import Aggregate, Model, OuterRef, QuerySet, Subquery, TextField
from django.db.models.functions import Lower
from django.db.models.sql.constants import MULTI
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

# The characters a spreadsheet may read as the start of a formula, the fullwidth forms
# too (some Excel locales turn ＝ into =).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
ROWS_PER_WRITE = 500
# Joins tag names inside SQL; tag names cannot contain control characters.
NAME_SEPARATOR = "\x1f"


FORMULA_FIRST_CHARACTERS = "".join(FORMULA_STARTS)


def neutralise(cell: str) -> str:
    """Make a cell inert in spreadsheets (OWASP's advice against CSV injection)."""
    return f"'{cell}" if cell[:1] and cell[0] in FORMULA_FIRST_CHARACTERS else cell


def batches(rows: Iterable, size: int) -> Iterator[list]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def tag_names(link_model: type[Model], record_ids: list[int]) -> dict[int, list[str]]:
    """Each record's tag names, sorted case-insensitively, in one query."""
    names: dict[int, list[str]] = {}
    links = (
        link_model.objects.filter(record_id__in=record_ids)
        .order_by(Lower("tag__name"), "tag_id")
        .values_list("record_id", "tag__name")
    )
    for record_id, name in links:
        names.setdefault(record_id, []).append(name)
    return names


class _JoinedNames(Aggregate):
    """The names of a group's rows joined by NAME_SEPARATOR, in no particular order
    (SQLite before 3.44 cannot order inside group_concat; sorted_names orders them)."""

    function = "GROUP_CONCAT"
    template = "%(function)s(%(expressions)s, char(31))"
    output_field = TextField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            function="STRING_AGG",
            template="%(function)s(%(expressions)s, chr(31))",
            **extra_context,
        )


def tag_names_subquery(link_model: type[Model], record: str = "pk") -> Subquery:
    """A per-row annotation: the record's tag names, joined (see sorted_names)."""
    links = (
        link_model.objects.filter(record_id=OuterRef(record))
        .order_by()
        .values("record_id")
        .annotate(names=_JoinedNames("tag__name"))
        .values("names")
    )
    return Subquery(links, output_field=TextField())


def sorted_names(joined: str | None) -> str:
    """A tag_names_subquery value as the export shows it: sorted ignoring case, "; "-joined."""
    if not joined:
        return ""
    if NAME_SEPARATOR not in joined:
        return joined
    return "; ".join(sorted(joined.split(NAME_SEPARATOR), key=str.lower))


def raw_rows(queryset: QuerySet, chunk_size: int) -> Iterator[tuple]:
    """The queryset's rows as the database driver returns them, streamed.

    No per-value converters (the export formats the few values that need it), and
    a server-side cursor on PostgreSQL, so memory stays flat at any size.
    """
    compiler = queryset.query.get_compiler(using=queryset.db)
    chunks = compiler.execute_sql(MULTI, chunked_fetch=True, chunk_size=chunk_size)
    for chunk in chunks or ():
        yield from chunk


def export_zone() -> tzinfo | None:
    """The zone exported timestamps are shown in; None for UTC, the stored zone."""
    zone = timezone.get_current_timezone()
    return None if timezone.get_current_timezone_name() == "UTC" else zone


def datetime_cell(value: datetime | str | None, zone: tzinfo | None) -> str:
    """A raw timestamp in `zone` (from export_zone), ISO 8601.

    Drivers give UTC: SQLite as naive datetimes (or text), PostgreSQL as aware ones.
    Converting to UTC itself is skipped: it is a third of an export's time.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat() if zone is None else value.astimezone(zone).isoformat()


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def csv_chunks(rows: Iterable[list[str]]) -> Iterator[str]:
    """UTF-8 CSV text in chunks of a few hundred rows, for a StreamingHttpResponse.

    Every cell is neutralised. The test is inlined (it runs for every cell of a
    300,000-row export) and a batch goes to the C writer in one call.
    """
    first = FORMULA_FIRST_CHARACTERS
    batch: list[list[str]] = []
    for row in rows:
        batch.append([f"'{cell}" if cell and cell[0] in first else cell for cell in row])
        if len(batch) >= ROWS_PER_WRITE:
            yield _csv_text(batch)
            batch = []
    if batch:
        yield _csv_text(batch)


def csv_response(chunks: Iterable[str], filename: str) -> StreamingHttpResponse:
    """A download of CSV text chunks (from csv_chunks), streamed: memory stays flat at any size.

    The filename is quoted by Django's own rule (filename*= for non-ASCII names).
    """
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
