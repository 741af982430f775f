"""One page of a queryset without counting a million rows.

Shared by the list pages and the API: fetch one row more than the page to know
whether a next page exists, and count matches only up to COHORT_COUNT_CAP.

Keyset paging: a page can also be asked for by a cursor, "the rows after (or before)
this one in this order", signed so that it cannot be forged or mistyped into a server
error. It reads from the index where the last page ended instead of skipping OFFSET
rows, and rows inserted meanwhile neither repeat nor push others past the page. The
next and previous links carry cursors; page numbers still work for jumps.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db.models import Field, Model, Q, QuerySet
from django.db.models.expressions import Col

CURSOR_SALT = "core.paging.cursor"
# Pages linked by number from every page (jumps); the next and previous links past them
# carry cursors.
NUMBERED_PAGES = 5


class BadCursor(ValueError):
    """A cursor that is not one of ours, or is for another sort order; the message says so."""


@dataclass(frozen=True)
class PageSlice:
    rows: list
    number: int
    size: int
    has_next: bool
    count: int
    count_is_exact: bool
    next_cursor: str | None = None
    previous_cursor: str | None = None

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def numbered(self) -> list[int]:
        """The first few page numbers to link to (none when everything fits on one page)."""
        last = max(-(-self.count // self.size), self.number + self.has_next)
        pages = list(range(1, min(NUMBERED_PAGES, last) + 1))
        return pages if len(pages) > 1 else []

    @property
    def previous_by_cursor(self) -> bool:
        """Past the numbered pages, the previous link reads back from this page's first row."""
        return bool(self.previous_cursor) and self.number - 1 > NUMBERED_PAGES

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
    queryset: QuerySet,
    number: int,
    size: int,
    count_queryset: QuerySet | None = None,
    *,
    cursor: str | None = None,
    keyset: bool = False,
    known_count: int | None = None,
    anchor_queryset: QuerySet | None = None,
) -> PageSlice:
    """Page `number` of `queryset`, or the page a `cursor` points to (BadCursor if it is
    not valid). `count_queryset`, when given, selects the same rows in a form the database
    counts faster (see tags.filtersets); `known_count` is an exact count known already
    (a tag's usage counter). With `keyset`, the page carries cursors for its neighbours
    when the queryset's order allows it (core.paging.keyset_keys); `anchor_queryset`, when
    given, yields the same order's key values faster (see _rows_at)."""
    keys = keyset_keys(queryset) if keyset or cursor else None
    if cursor:
        if keys is None:
            raise BadCursor("This list's order cannot be paged by cursor; use ?page= instead.")
        return _fetch_after(queryset, keys, decode_cursor(cursor, keys), size, known_count)
    offset = (number - 1) * size
    rows = _rows_at(queryset, keys, offset, size + 1, anchor_queryset)
    has_next = len(rows) > size
    rows = rows[:size]
    if known_count is not None:
        count, exact = known_count, True
    elif not has_next and (rows or number == 1):
        count, exact = offset + len(rows), True
    else:
        count, exact = capped_count(queryset if count_queryset is None else count_queryset)
    return PageSlice(
        rows,
        number,
        size,
        has_next,
        count,
        exact,
        next_cursor=_cursor(keys, rows[-1], "next", number + 1) if keys and has_next else None,
        previous_cursor=_cursor(keys, rows[0], "prev", number - 1)
        if keys and rows and number > 1
        else None,
    )


def _rows_at(
    queryset: QuerySet,
    keys: list["Key"] | None,
    offset: int,
    limit: int,
    anchor_queryset: QuerySet | None,
) -> list:
    """`limit` rows from `offset` on. A page past the first, when the order has keys, is
    found in two steps: the key values of its first row (the OFFSET walks an index of
    the key columns only, never the rows' other columns or joins), then the page read
    from there like a cursor's. A plain OFFSET fetched and joined every skipped row:
    page 100 of a tag's contacts read 5,000 contact rows, in parallel workers, for 50."""
    if not keys or offset == 0:
        return list(queryset[offset : offset + limit])
    names = [key.name for key in keys]
    source = queryset if anchor_queryset is None else anchor_queryset
    anchor = list(
        source.order_by(*(key.term for key in keys)).values_list(*names)[offset : offset + 1]
    )
    if not anchor:
        return []
    return list(queryset.filter(_after(keys, list(anchor[0]), True, inclusive=True))[:limit])


# --- keyset paging -----------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One term of the order: a field or annotation name, its direction, its model field."""

    name: str
    descending: bool
    field: Field

    @property
    def term(self) -> str:
        return f"-{self.name}" if self.descending else self.name


def keyset_keys(queryset: QuerySet) -> list[Key] | None:
    """The queryset's order as keys, or None when a cursor cannot follow it: a term that is
    an expression, a nullable field (NULLs sort differently per database) or a relation's
    field, or an order that does not end on the row's identity (its pk, or a column
    holding it, e.g. a link's record id)."""
    query = queryset.query
    terms = query.order_by or (queryset.model._meta.ordering if query.default_ordering else [])
    keys = []
    for term in terms:
        if not isinstance(term, str) or term == "?":
            return None
        name = term.lstrip("-")
        field = _key_field(queryset, name)
        if field is None or field.null:
            return None
        keys.append(Key(name, term.startswith("-"), field))
    if not keys or not _identifies(keys[-1].field, queryset.model):
        return None
    return keys


def _key_field(queryset: QuerySet, name: str) -> Field | None:
    model = queryset.model
    if name == "pk":
        return model._meta.pk
    annotation = queryset.query.annotations.get(name)
    if annotation is not None:
        return annotation.target if isinstance(annotation, Col) else None
    if "__" in name:
        return None
    try:
        field = model._meta.get_field(name)
    except Exception:  # FieldDoesNotExist, or a reverse relation
        return None
    return field if getattr(field, "concrete", False) and not field.is_relation else None


def _identifies(field: Field, model: type[Model]) -> bool:
    if field.primary_key and field.model is model:
        return True
    return field.is_relation and field.related_model is model and field.target_field.primary_key


def _encode(key: "Key", value):
    value = key.field.get_prep_value(value)  # e.g. a Country object to its code
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


def _row_value(row, key: Key):
    if key.name == "pk":
        return row.pk
    return getattr(row, key.name)


def _cursor(keys: list[Key], row, direction: str, number: int) -> str:
    payload = {
        "o": [key.term for key in keys],
        "v": [_encode(key, _row_value(row, key)) for key in keys],
        "d": direction,
        "n": number,
    }
    return signing.dumps(payload, salt=CURSOR_SALT, compress=True)


@dataclass(frozen=True)
class Cursor:
    values: list
    forward: bool
    number: int


def decode_cursor(token: str, keys: list[Key]) -> Cursor:
    try:
        payload = signing.loads(token, salt=CURSOR_SALT)
    except signing.BadSignature:
        raise BadCursor("Invalid cursor: follow a next or previous link as given.") from None
    if not isinstance(payload, dict) or payload.get("o") != [key.term for key in keys]:
        raise BadCursor("This cursor is for another sort order; start again from page 1.")
    try:
        values = [key.field.to_python(value) for key, value in zip(keys, payload["v"], strict=True)]
        number = int(payload["n"])
        forward = {"next": True, "prev": False}[payload["d"]]
    except Exception:  # a payload we signed but cannot read back (an older format)
        raise BadCursor("Invalid cursor: follow a next or previous link as given.") from None
    return Cursor(values, forward, max(number, 1))


def _after(keys: list[Key], values: list, forward: bool, *, inclusive: bool = False) -> Q:
    """Rows strictly after (forward) or before the cursor's row, in the keys' order, and
    the row itself if `inclusive`.

    The first key's non-strict bound comes first: it is an index range; the rest only
    settles ties."""

    def beyond(key: Key) -> str:
        return "lt" if key.descending == forward else "gt"

    def reached(key: Key) -> str:
        return "lte" if key.descending == forward else "gte"

    condition = Q()
    for i, key in enumerate(keys):
        step = Q(**{f"{k.name}": v for k, v in zip(keys[:i], values[:i], strict=True)})
        condition |= step & Q(**{f"{key.name}__{beyond(key)}": values[i]})
    if inclusive:
        condition |= Q(**{key.name: value for key, value in zip(keys, values, strict=True)})
    return Q(**{f"{keys[0].name}__{reached(keys[0])}": values[0]}) & condition


def _fetch_after(
    queryset: QuerySet, keys: list[Key], cursor: Cursor, size: int, known_count: int | None
) -> PageSlice:
    rows_qs = queryset.filter(_after(keys, cursor.values, cursor.forward))
    if not cursor.forward:  # read backwards from the cursor, then put the rows in order
        rows_qs = rows_qs.order_by(
            *(key.name if key.descending else f"-{key.name}" for key in keys)
        )
    rows = list(rows_qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if not cursor.forward:
        rows.reverse()
    number = cursor.number
    if not cursor.forward and not more:
        number = 1  # rows were inserted before: this is the first page now
    has_next = more if cursor.forward else True
    if known_count is not None:
        count, exact = known_count, True
    else:
        count, exact = capped_count(queryset)
    return PageSlice(
        rows,
        number,
        size,
        has_next and bool(rows),
        count,
        exact,
        next_cursor=_cursor(keys, rows[-1], "next", number + 1) if rows and has_next else None,
        previous_cursor=_cursor(keys, rows[0], "prev", number - 1) if rows and number > 1 else None,
    )


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
