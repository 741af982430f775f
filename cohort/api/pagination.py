"""Page-number pagination that never counts a million rows.

It fetches one row more than the page to know whether there is a next page, and
counts matching rows only up to COHORT_COUNT_CAP: `count` is present when the
exact number is known that cheaply, and omitted past the cap.
"""

from collections import OrderedDict

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_PAGE_SIZE = 200


def capped_count(queryset: QuerySet, cap: int | None = None) -> tuple[int, bool]:
    """Count up to `cap` rows; return (count, exact)."""
    cap = cap or settings.COHORT_COUNT_CAP
    counted = queryset.order_by()[: cap + 1].count()
    return min(counted, cap), counted <= cap


def _positive_int(raw: str | None, default: int, maximum: int | None = None) -> int:
    try:
        value = int(raw) if raw not in (None, "") else default
    except ValueError:
        return default
    value = max(value, 1)
    return min(value, maximum) if maximum else value


class CappedCountPagination(BasePagination):
    page_query_param = "page"
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = _positive_int(
            request.query_params.get(self.page_size_query_param),
            settings.REST_FRAMEWORK["PAGE_SIZE"],
            MAX_PAGE_SIZE,
        )
        raw_page = request.query_params.get(self.page_query_param)
        if raw_page not in (None, "") and (not raw_page.isdigit() or int(raw_page) < 1):
            raise NotFound(f"Invalid page {raw_page!r}: use a whole number from 1.")
        self.page = int(raw_page or 1)
        offset = (self.page - 1) * self.page_size
        rows = list(queryset[offset : offset + self.page_size + 1])
        self.has_next = len(rows) > self.page_size
        rows = rows[: self.page_size]
        if not rows and self.page > 1:
            raise NotFound(f"Page {self.page} is past the last page.")
        if self.page == 1 and not self.has_next:
            self.count, self.exact = len(rows), True
        else:
            self.count, self.exact = capped_count(queryset)
        return rows

    def _link(self, page: int | None) -> str | None:
        if page is None:
            return None
        url = self.request.build_absolute_uri()
        if page == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, page)

    def get_paginated_response(self, data):
        body = OrderedDict()
        if self.exact:
            body["count"] = self.count
        body["next"] = self._link(self.page + 1 if self.has_next else None)
        body["previous"] = self._link(self.page - 1 if self.page > 1 else None)
        body["results"] = data
        return Response(body)

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["next", "previous", "results"],
            "properties": {
                "count": {
                    "type": "integer",
                    "description": "Exact number of matches; omitted when over "
                    f"{settings.COHORT_COUNT_CAP:,}, where counting would be slow.",
                },
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "schema": {"type": "integer", "minimum": 1},
                "description": "Page number, from 1.",
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                "description": f"Rows per page, at most {MAX_PAGE_SIZE}.",
            },
        ]
