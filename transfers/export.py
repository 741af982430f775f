"""Any filtered record list (contacts, leads, deals) or the tag list as CSV, streamed.

The rows are the list page's own filterset applied to the same query string, read
as tuples in chunks with tags fetched per chunk; cells go through the one CSV
writer in core.csv (formula injection neutralised). Column names are the
import's field names, so an export imports back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import QueryDict
from django.utils import timezone

from contacts.filtersets import ContactFilterSet
from core.csv import batches, tag_names
from deals.filtersets import DealFilterSet
from leads.filtersets import LeadFilterSet
from tags.models import Tag
from tags.records import TAGGABLE_TYPES

CHUNK_SIZE = 2_000


@dataclass(frozen=True)
class ExportColumns:
    filterset_class: type
    # (CSV header, values_list path); "tags" is filled from the link table.
    columns: list[tuple[str, str]]


EXPORTS = {
    "contacts": ExportColumns(
        ContactFilterSet,
        [
            ("id", "pk"),
            ("first_name", "first_name"),
            ("last_name", "last_name"),
            ("email", "email"),
            ("phone", "phone"),
            ("company", "company"),
            ("job_title", "job_title"),
            ("country", "country"),
            ("city", "city"),
            ("lifecycle_stage", "lifecycle_stage"),
            ("lead_score", "lead_score"),
            ("source", "source"),
            ("owner", "owner__username"),
            ("tags", ""),
            ("last_activity_at", "last_activity_at"),
            ("created_at", "created_at"),
        ],
    ),
    "leads": ExportColumns(
        LeadFilterSet,
        [
            ("id", "pk"),
            ("name", "name"),
            ("email", "email"),
            ("phone", "phone"),
            ("company", "company"),
            ("status", "status"),
            ("source", "source"),
            ("score", "score"),
            ("owner", "owner__username"),
            ("tags", ""),
            ("contact_id", "contact_id"),
            ("created_at", "created_at"),
        ],
    ),
    "deals": ExportColumns(
        DealFilterSet,
        [
            ("id", "pk"),
            ("title", "title"),
            ("contact_id", "contact_id"),
            ("value", "value"),
            ("currency", "currency"),
            ("stage", "stage"),
            ("expected_close_date", "expected_close_date"),
            ("owner", "owner__username"),
            ("tags", ""),
            ("created_at", "created_at"),
        ],
    ),
}


class ExportFilterError(Exception):
    """The query string does not make a valid filter; the message lists the problems."""


def filtered_records(record_type: str, query: QueryDict, request=None) -> QuerySet:
    """The rows the list page shows for `query` (every page of them)."""
    spec = EXPORTS[record_type]
    model = TAGGABLE_TYPES[record_type].model
    filterset = spec.filterset_class(query, queryset=model.objects.all(), request=request)
    if not filterset.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errs)}" for name, errs in filterset.errors.items())
        raise ExportFilterError(problems)
    return filterset.qs


def _text(value) -> str:
    if value is None:
        return ""
    if hasattr(value, "astimezone"):
        return value.astimezone(timezone.get_current_timezone()).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def record_rows(
    record_type: str, records: QuerySet, *, with_tags: bool = True
) -> Iterator[list[str]]:
    """The header, then one row per record in the list's order, tags per chunk.

    Without `with_tags` (users without "view crm tags", #15 M5) there is no tags column.
    """
    spec = EXPORTS[record_type]
    link_model = TAGGABLE_TYPES[record_type].link_model
    yield [header for header, _ in spec.columns if with_tags or header != "tags"]
    paths = [path for _, path in spec.columns if path]
    tags_at = [header for header, _ in spec.columns].index("tags")
    rows = records.values_list(*paths).iterator(chunk_size=CHUNK_SIZE)
    for batch in batches(rows, CHUNK_SIZE):
        tags = tag_names(link_model, [row[0] for row in batch]) if with_tags else {}
        for row in batch:
            cells = [_text(value) for value in row]
            if with_tags:
                cells.insert(tags_at, "; ".join(tags.get(row[0], ())))
            yield cells


TAG_HEADER = ["name", "slug", "color", "description", "contacts", "leads", "deals"]


def tag_rows(search: str = "") -> Iterator[list[str]]:
    """The tag list (optionally searched by name) with its usage counts."""
    yield TAG_HEADER
    tags = Tag.objects.order_by(Lower("name"), "id")
    if search:
        tags = tags.filter(name__icontains=search)
    columns = ["name", "slug", "color", "description", *[f"{k}_count" for k in TAGGABLE_TYPES]]
    for row in tags.values_list(*columns).iterator(chunk_size=CHUNK_SIZE):
        yield [_text(value) for value in row]


def export_filename(name: str) -> str:
    return f"{name}-{timezone.localdate():%Y%m%d}.csv"
