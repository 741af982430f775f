"""One page of a queryset without counting a million rows.

Shared by the list pages and the API: fetch one row more than the page to know
whether a next page exists, and count matches only up to COHORT_COUNT_CAP.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet


@dataclass(frozen=True)
class PageSlice:
    rows: list
    number: int
    size: int
    has_next: bool
    count: int
    count_is_exact: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.size + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.size + len(self.rows)


def capped_count(queryset: QuerySet, cap: int | None = None) -> tuple[int, bool]:
    """Count up to `cap` matching rows; return (count, exact)."""
    cap = cap or settings.COHORT_COUNT_CAP
    counted = queryset.order_by()[: cap + 1].count()
    return min(counted, cap), counted <= cap


def fetch_page(
    queryset: QuerySet, number: int, size: int, count_queryset: QuerySet | None = None
) -> PageSlice:
    """Page `number` of `queryset`; `count_queryset`, when given, selects the same rows
    in a form the database counts faster (see tags.filtersets)."""
    offset = (number - 1) * size
    rows = list(queryset[offset : offset + size + 1])
    has_next = len(rows) > size
    rows = rows[:size]
    if not has_next and (rows or number == 1):
        count, exact = offset + len(rows), True
    else:
        count, exact = capped_count(queryset if count_queryset is None else count_queryset)
    return PageSlice(rows, number, size, has_next, count, exact)


# Deeper pages than this are refused: an OFFSET past it is a mistake, not browsing.
MAX_PAGE = 1_000_000


def positive_int(raw: str | None, default: int, maximum: int | None = None) -> int:
    """A page or page-size parameter, falling back to `default` when it is not a number."""
    try:
        value = int(raw) if raw not in (None, "") else default
    except ValueError:
        return default
    value = max(value, 1)
    return min(value, maximum) if maximum else value
