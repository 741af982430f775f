"""A segment's members as CSV, streamed: memory stays flat at any size.

Cells a spreadsheet would run as a formula (starting with = + - @, tab or carriage
return) get a leading single quote. On PostgreSQL the whole file is one
`COPY (SELECT …) TO STDOUT`: tags aggregated once by a hash aggregate, cells
neutralised, quoted and timestamps formatted in SQL, blocks streamed as they come.
Elsewhere (SQLite) rows are read 2,000 at a time as plain tuples, tags joined in
SQL, and written in batches by Python's CSV writer. Both give the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from core import csv as core_csv
from core.csv import (
    FORMULA_STARTS,
    datetime_cell,
    export_zone,
    neutralise,
    raw_rows,
    sorted_names,
    tag_names_subquery,
)
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
__all__ = [
    "FORMULA_STARTS",
    "HEADER",
    "csv_chunks",
    "export_columns",
    "export_filename",
    "neutralise",
]
# What an export holds for someone who may view (and export) segments but not contacts or
# tags: enough to recognise each member (#15 M5). Contact details come with "view crm
# contacts", the tags column with "view crm tags".
IDENTIFYING_COLUMNS = ["id", "first_name", "last_name", "email", "company", "added_how", "added_at"]
CONTACT_COLUMNS = ["phone", "country", "owner"]


def export_columns(user: User | None) -> list[str]:
    """The columns of HEADER `user` may export, in HEADER's order (None: all of them)."""
    if user is None:
        return list(HEADER)
    allowed = set(IDENTIFYING_COLUMNS)
    if user.has_perm("contacts.view_contact"):
        allowed.update(CONTACT_COLUMNS)
    if user.has_perm("tags.view_tag"):
        allowed.add("tags")
    return [column for column in HEADER if column in allowed]


def _keep(columns: list[str] | None) -> list[int] | None:
    """Indexes of HEADER to write, or None for all."""
    if columns is None or columns == HEADER:
        return None
    return [HEADER.index(column) for column in columns]


MEMBER_COLUMNS = [
    "contact_id",
    "contact__first_name",
    "contact__last_name",
    "contact__email",
    "contact__phone",
    "contact__company",
    "contact__country",
    "contact__owner_id",
    "tag_names",
    "added_how",
    "added_at",
]


def export_rows(segment: Segment, columns: list[str] | None = None) -> Iterator[list[str]]:
    keep = _keep(columns)
    rows = _export_rows(segment)
    if keep is None:
        yield from rows
        return
    for row in rows:
        yield [row[index] for index in keep]


def _export_rows(segment: Segment) -> Iterator[list[str]]:
    """The header, then one row per member, newest first.

    One streamed query with each member's tags joined in SQL; driver values, not
    model instances (at 300,000 members objects would cost minutes). Owners are
    few and cached.
    """
    yield HEADER
    members = (
        SegmentMember.objects.filter(segment=segment)
        .order_by("-added_at", "-contact_id")
        .annotate(tag_names=tag_names_subquery(ContactTag, "contact_id"))
        .values_list(*MEMBER_COLUMNS)
    )
    owners: dict[int, str] = {}
    zone = export_zone()
    for row in raw_rows(members, CHUNK_SIZE):
        contact_id, first, last, email, phone, company, country, owner, tags, how, at = row
        if owner is not None and owner not in owners:
            owners.update((user.pk, str(user)) for user in User.objects.all())
            owners.setdefault(owner, "")
        yield [
            str(contact_id),
            first,
            last,
            email,
            phone,
            company,
            country or "",
            owners.get(owner, "") if owner is not None else "",
            sorted_names(tags),
            how,
            datetime_cell(at, zone),
        ]


def csv_chunks(
    segment: Segment,
    columns: list[str] | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> Iterator[str]:
    """UTF-8 CSV text in chunks of a few hundred rows or more, for a StreamingHttpResponse.

    `columns` (from `export_columns`) are the ones written, all of HEADER by default.
    `on_rows(n)` is told after each chunk how many member rows have been written so far.
    """
    using = router.db_for_read(SegmentMember)
    if connections[using].vendor == "postgresql":
        return _copied_chunks(segment, using, columns, on_rows)
    return _written_chunks(segment, columns, on_rows)


def _written_chunks(segment: Segment, columns, on_rows) -> Iterator[str]:
    rows = 0

    def counted(source):
        nonlocal rows
        for row in source:
            yield row
            rows += 1

    for chunk in core_csv.csv_chunks(counted(export_rows(segment, columns))):
        yield chunk
        if on_rows:
            on_rows(max(rows - 1, 0))


# --- PostgreSQL: one COPY -------------------------------------------------------------------------

# Memory for the export's sorts (members by date, links by member), per sort, in the server.
EXPORT_WORK_MEM = "64MB"
# Rows COPY sends (one message each) joined into one chunk of text.
COPY_ROWS_PER_CHUNK = 2_000
# COPY's text format escapes these in values; the CSV lines built in SQL hold them raw.
_COPY_ESCAPES = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v"}
_COPY_ESCAPE = re.compile(r"\\([\\nrtbfv])")


# core.csv's FORMULA_STARTS as SQL literals: chr() for the control characters.
_FORMULA_STARTS_SQL = ", ".join(
    f"'{start}'" if start.isprintable() else f"chr({ord(start)})" for start in FORMULA_STARTS
)


def _neutral(expression: str) -> str:
    """SQL for a text value neutralised as core.csv.csv_chunks writes it: a leading quote
    before FORMULA_STARTS; '' for NULL."""
    value = f"coalesce({expression}, '')"
    return (
        f"(CASE WHEN left({value}, 1) IN ({_FORMULA_STARTS_SQL}) "
        f"THEN '''' || {value} ELSE {value} END)"
    )


def _quoted(column: str) -> str:
    """SQL quoting a neutralised column as Python's csv module quotes: when it holds a
    comma, a double quote, CR or LF (four strpos scans: cheaper than a regular
    expression, run for every cell of every row)."""
    holds = " OR ".join(
        f"strpos({column}, {char}) > 0" for char in ("','", "'\"'", "chr(13)", "chr(10)")
    )
    return (
        f"(CASE WHEN {holds} THEN '\"' || replace({column}, '\"', '\"\"') || '\"' "
        f"ELSE {column} END)"
    )


def _timestamp(expression: str) -> str:
    """SQL for datetime.isoformat() in the session's zone (microseconds only when not 0)."""
    return (
        f"to_char({expression}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || CASE WHEN "
        f"date_trunc('second', {expression}) = {expression} THEN '' "
        f"ELSE to_char({expression}, '.US') END || to_char({expression}, 'TZH:TZM')"
    )


# The text cells of a row (HEADER's, between the id and added_at): the inner query's
# column, and its source.
_TEXT_CELLS = [
    ("first_name", "c.first_name"),
    ("last_name", "c.last_name"),
    ("email", "c.email"),
    ("phone", "c.phone"),
    ("company", "c.company"),
    ("country", "c.country"),
    ("owner", "o.name"),
    ("tags", "g.names"),
    ("added_how", "m.added_how"),
]


def _copy_sql(columns: list[str] | None) -> str:
    members = SegmentMember._meta.db_table
    contacts = SegmentMember._meta.get_field("contact").related_model._meta.db_table
    links = ContactTag._meta.db_table
    tags = ContactTag._meta.get_field("tag").related_model._meta.db_table
    neutral = ", ".join(f"{_neutral(source)} AS {name}" for name, source in _TEXT_CELLS)
    every_cell = [
        "x.contact_id::text",
        *(_quoted(f"x.{name}") for name, _ in _TEXT_CELLS),
        _timestamp("x.added_at"),
    ]
    keep = _keep(columns)
    cells = every_cell if keep is None else [every_cell[index] for index in keep]
    # Each cell is neutralised once, in the inner query, and quoted by the outer one
    # (OFFSET 0 keeps the planner from folding the two, which repeated the expression at
    # each use). Tag names sorted as sorted_names sorts them (lower case, code point
    # order); the members' links aggregated once, by hash, not one subquery per row.
    return f"""
        SELECT concat_ws(',', {", ".join(cells)}) FROM (
            SELECT m.contact_id, m.added_at, {neutral}
            FROM {members} m
            JOIN {contacts} c ON c.id = m.contact_id
            LEFT JOIN (
                SELECT key::bigint AS id, value AS name FROM jsonb_each_text(%(owners)s::jsonb)
            ) o ON o.id = c.owner_id
            LEFT JOIN (
                SELECT l.record_id,
                    string_agg(t.name, '; ' ORDER BY lower(t.name) COLLATE "C") AS names
                FROM {links} l JOIN {tags} t ON t.id = l.tag_id
                WHERE l.record_id IN (
                    SELECT contact_id FROM {members} WHERE segment_id = %(segment)s
                )
                GROUP BY l.record_id
            ) g ON g.record_id = m.contact_id
            WHERE m.segment_id = %(segment)s
            ORDER BY m.added_at DESC, m.contact_id DESC
            OFFSET 0
        ) x
    """


def _copied_chunks(segment: Segment, using: str, columns, on_rows) -> Iterator[str]:
    yield next(core_csv.csv_chunks([HEADER if columns is None else columns]))
    owners = json.dumps({str(user.pk): str(user) for user in User.objects.using(using)})
    connection = connections[using]
    rows = 0
    # For this transaction only: the session's zone formats the timestamps (TZH:TZM); the
    # sorts stay in memory; no JIT (it compiled for 0.2 s of a 2 s export); no parallel
    # workers (each one aggregated every member's tags again).
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('TimeZone', %s, true), set_config('work_mem', %s, true), "
            "set_config('jit', 'off', true), "
            "set_config('max_parallel_workers_per_gather', '0', true)",
            [timezone.get_current_timezone_name(), EXPORT_WORK_MEM],
        )
        params = {"owners": owners, "segment": segment.pk}
        with cursor.cursor.copy(f"COPY ({_copy_sql(columns)}) TO STDOUT", params) as copy:
            batch: list = []
            for block in copy:
                batch.append(block)
                if len(batch) == COPY_ROWS_PER_CHUNK:
                    rows += len(batch)
                    yield _copy_text(batch)
                    batch = []
                    if on_rows:
                        on_rows(rows)
            if batch:
                rows += len(batch)
                yield _copy_text(batch)
    if on_rows:
        on_rows(rows)


def _copy_text(blocks: list) -> str:
    """COPY's text-format lines as the CSV writer's: CRLF ends a line, escapes undone."""
    text = b"".join(blocks).decode("utf-8").replace("\n", "\r\n")
    if "\\" in text:
        text = _COPY_ESCAPE.sub(lambda match: _COPY_ESCAPES[match[1]], text)
    return text


def export_filename(segment: Segment) -> str:
    return f"segment-{slugify(segment.name) or segment.pk}-{timezone.localdate():%Y%m%d}.csv"
