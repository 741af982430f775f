"""CRM → Segments pages. Every path answers with or without a trailing slash, like
core.record_urls; the API lives in segments.api.urls."""

from django.urls import re_path

from segments import views

BASE = r"^admin/crm-segments"
SEGMENT = rf"{BASE}/(?P<pk>\d+)"

urlpatterns = [
    re_path(rf"{BASE}/?$", views.segment_list, name="segment_list"),
    re_path(rf"{BASE}/new/?$", views.segment_add, name="segment_add"),
    re_path(rf"{BASE}/preview/?$", views.segment_preview, name="segment_preview"),
    re_path(rf"{SEGMENT}/?$", views.segment_detail, name="segment_detail"),
    re_path(rf"{SEGMENT}/edit/?$", views.segment_edit, name="segment_edit"),
    re_path(rf"{SEGMENT}/delete/?$", views.segment_delete, name="segment_delete"),
    re_path(rf"{SEGMENT}/sync/?$", views.segment_sync, name="segment_sync"),
    re_path(rf"{SEGMENT}/changes/?$", views.segment_changes, name="segment_changes"),
    re_path(rf"{SEGMENT}/export\.csv/?$", views.segment_export, name="segment_export"),
    re_path(rf"{SEGMENT}/export/?$", views.segment_export_job, name="segment_export_job"),
    re_path(rf"{SEGMENT}/members/?$", views.segment_member_add, name="segment_member_add"),
    re_path(
        rf"{SEGMENT}/members/(?P<contact_id>\d+)/remove/?$",
        views.segment_member_remove,
        name="segment_member_remove",
    ),
    re_path(
        rf"{SEGMENT}/contact-search/?$",
        views.segment_contact_search,
        name="segment_contact_search",
    ),
]
