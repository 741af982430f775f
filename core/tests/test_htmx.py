"""is_partial: which htmx requests get a piece of the page and which the whole page."""

import pytest

from django.test import RequestFactory
from django_htmx.middleware import HtmxMiddleware

from core.htmx import is_partial


def _request(headers: dict):
    request = RequestFactory().get("/", headers=headers)
    HtmxMiddleware(lambda request: None)(request)
    return request


@pytest.mark.parametrize(
    ("headers", "partial"),
    [
        ({}, False),  # a plain page load
        ({"HX-Request": "true"}, True),  # htmx swapping a piece in
        ({"HX-Request": "true", "HX-Boosted": "true"}, False),  # a boosted link swaps the body
        # htmx had no snapshot of the page in its history cache and shows the answer whole
        ({"HX-Request": "true", "HX-History-Restore-Request": "true"}, False),
    ],
)
def test_is_partial(headers, partial):
    assert is_partial(_request(headers)) is partial
