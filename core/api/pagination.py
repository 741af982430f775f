"""Pagination for the API that never counts a million rows.

`count` is present when the exact number is known cheaply (core.paging), and
omitted past COHORT_COUNT_CAP. `next` and `previous` carry an opaque `cursor`
(keyset paging, core.paging) beside the page number they lead to, so following them
neither repeats nor skips rows when others are inserted meanwhile; `?page=N` alone
still jumps to a page.
"""

from collections import OrderedDict

from django.conf import settings
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from core.paging import MAX_PAGE, BadCursor, fetch_page, positive_int

MAX_PAGE_SIZE = 200


class CappedCountPagination(BasePagination):
    page_query_param = "page"
    page_size_query_param = "page_size"
    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = positive_int(
            request.query_params.get(self.page_size_query_param),
            settings.REST_FRAMEWORK["PAGE_SIZE"],
            MAX_PAGE_SIZE,
        )
        raw_page = request.query_params.get(self.page_query_param)
        if raw_page not in (None, "") and not (
            raw_page.isdecimal() and 1 <= int(raw_page) <= MAX_PAGE
        ):
            raise NotFound(f"Invalid page {raw_page!r}: use a whole number from 1 to {MAX_PAGE:,}.")
        cursor = request.query_params.get(self.cursor_query_param) or None
        try:
            self.slice = fetch_page(
                queryset,
                int(raw_page or 1),
                self.page_size,
                cursor=cursor,
                keyset=True,
                known_count=getattr(view, "known_count", None),
                anchor_queryset=getattr(view, "anchor_queryset", None),
            )
        except BadCursor as error:
            raise ValidationError({self.cursor_query_param: [str(error)]}) from None
        if not self.slice.rows and self.slice.number > 1:
            raise NotFound(f"Page {self.slice.number} is past the last page.")
        return self.slice.rows

    def _link(self, page: int | None, cursor: str | None = None) -> str | None:
        if page is None:
            return None
        url = remove_query_param(self.request.build_absolute_uri(), self.cursor_query_param)
        if cursor:
            url = replace_query_param(url, self.cursor_query_param, cursor)
        if page == 1 and not cursor:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, page)

    def get_paginated_response(self, data):
        body = OrderedDict()
        page = self.slice
        if page.count_is_exact:
            body["count"] = page.count
        body["next"] = self._link(page.number + 1 if page.has_next else None, page.next_cursor)
        previous = page.previous_cursor if page.number > 2 else None  # page 1 needs none
        body["previous"] = self._link(page.number - 1 if page.has_previous else None, previous)
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
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "schema": {"type": "string"},
                "description": "Opaque position from a `next` or `previous` link: the rows "
                "after (or before) that link's page, in the same order.",
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                "description": f"Rows per page, at most {MAX_PAGE_SIZE}.",
            },
        ]
