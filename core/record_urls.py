"""The five admin-UI paths every record type has, as the guide spells them."""

from functools import lru_cache

from django.urls import get_script_prefix, get_urlconf, re_path, reverse


def record_urls(path: str, name: str, *, list_view, detail_view, edit_view, delete_view) -> list:
    """/admin/<path>, /new, /{id}, /{id}/edit, /{id}/delete: with or without a trailing slash."""
    base = rf"^admin/{path}"
    return [
        re_path(rf"{base}/?$", list_view.as_view(), name=f"{name}_list"),
        re_path(rf"{base}/new/?$", edit_view.as_view(), name=f"{name}_add"),
        re_path(rf"{base}/(?P<pk>\d+)/?$", detail_view.as_view(), name=f"{name}_detail"),
        re_path(rf"{base}/(?P<pk>\d+)/edit/?$", edit_view.as_view(), name=f"{name}_edit"),
        re_path(rf"{base}/(?P<pk>\d+)/delete/?$", delete_view.as_view(), name=f"{name}_delete"),
    ]


# An id no record has; it only marks where the id goes in a reversed path.
_MARKER_ID = 987654321


@lru_cache(maxsize=256)
def _around_id(name: str, prefix: str, urlconf: str | None) -> tuple[str, str]:
    before, _, after = reverse(name, args=[_MARKER_ID], urlconf=urlconf).partition(str(_MARKER_ID))
    return before, after


def object_url(name: str, pk: int) -> str:
    """`reverse(name, args=[pk])` for a path with one id, at the cost of a string join.

    reverse() costs 40–180 µs a call with regex patterns; a list page links every
    row, so it is done once per URL name and the id is put in place.
    """
    before, after = _around_id(name, get_script_prefix(), get_urlconf())
    return f"{before}{pk}{after}"
