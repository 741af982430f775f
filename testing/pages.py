"""Helpers the page tests of every app share: reading list tables, counting queries."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext


def table_rows(html: str) -> list[str]:
    """The rows of the results table (its tbody), as HTML snippets."""
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S) if body else []


def queries_for(client, url: str, **extra) -> int:
    """How many SQL queries one successful GET of `url` takes."""
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, **extra).status_code == 200
    return len(captured)
