"""Import pages and CSV exports; paths answer with or without a trailing slash."""

from django.urls import re_path

from tags.records import TAGGABLE_TYPES
from transfers import views

RECORD = rf"^admin/(?P<record_type>{'|'.join(TAGGABLE_TYPES)})"
TOKEN = r"(?P<token>[0-9a-f]{32})"

urlpatterns = [
    re_path(rf"{RECORD}/import/?$", views.import_upload, name="transfer_import"),
    re_path(rf"{RECORD}/import/{TOKEN}/?$", views.import_review, name="transfer_review"),
    re_path(rf"{RECORD}/import/{TOKEN}/errors\.csv$", views.import_errors, name="transfer_errors"),
    re_path(rf"{RECORD}/export\.csv$", views.record_export, name="transfer_export"),
    re_path(r"^admin/crm/tags/export\.csv$", views.tag_export, name="tag_export"),
]
