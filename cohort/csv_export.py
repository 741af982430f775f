"""Streaming CSV out of Cohort: formula neutralising, batching and per-chunk tag names.

Shared by the segment member export (segments.export) and the list exports
(transfers.export), so there is one CSV writer and one injection rule.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.db.models import Model
from django.db.models.functions import Lower

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ROWS_PER_WRITE = 500


def neutralise(cell: str) -> str:
    """Make a cell inert in spreadsheets (OWASP's advice against CSV injection)."""
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


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


class _Line:
    """A file-like object whose write() returns what it was given (csv.writer's sink)."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(rows: Iterable[list[str]]) -> Iterator[str]:
    """UTF-8 CSV text in chunks of a few hundred rows, for a StreamingHttpResponse."""
    writer = csv.writer(_Line())
    batch: list[str] = []
    for row in rows:
        batch.append(writer.writerow([neutralise(cell) for cell in row]))
        if len(batch) >= ROWS_PER_WRITE:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
