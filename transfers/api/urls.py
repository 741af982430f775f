"""/api/crm/{contacts|leads|deals}/import and /export.csv (before the record routers)."""

from django.urls import re_path

from tags.records import TAGGABLE_TYPES
from transfers.api import views

RECORD = rf"^(?P<record_type>{'|'.join(TAGGABLE_TYPES)})"

urlpatterns = [
    re_path(rf"{RECORD}/import/?$", views.ImportView.as_view(), name="api_transfer_import"),
    re_path(rf"{RECORD}/export\.csv/?$", views.ExportView.as_view(), name="api_transfer_export"),
]
