"""The five admin-UI paths every record type has, as the guide spells them."""

from django.urls import re_path


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
