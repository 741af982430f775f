"""The audit log page. Answers with or without a trailing slash, like core.record_urls;
the API lives in audit.api and is routed by audit.api.urls."""

from django.urls import re_path

from audit import views

urlpatterns = [
    re_path(r"^admin/audit/?$", views.audit_list, name="audit_list"),
]
