from django.contrib import admin
from django.urls import include, path, re_path

from cohort import views
from core import health

urlpatterns = [
    re_path(r"^healthz/?$", health.healthz, name="healthz"),
    re_path(r"^admin/?$", views.dashboard, name="dashboard"),
    path("", include("accounts.urls")),
    path("", include("contacts.urls")),
    path("", include("leads.urls")),
    path("", include("deals.urls")),
    path("", include("activities.urls")),
    path("", include("tags.urls")),
    path("", include("segments.urls")),
    path("", include("transfers.urls")),
    path("", include("audit.urls")),
    path("", include("jobs.urls")),
    # Every app routes its own /api/crm/ endpoints. Transfers come before the record
    # routers, whose detail routes would take "contacts/import" for a record id.
    path("api/crm/", include("segments.api.urls")),
    path("api/crm/", include("transfers.api.urls")),
    path("api/crm/", include("contacts.api.urls")),
    path("api/crm/", include("leads.api.urls")),
    path("api/crm/", include("deals.api.urls")),
    path("api/crm/", include("activities.api.urls")),
    path("api/crm/", include("tags.api.urls")),
    path("api/crm/", include("audit.api.urls")),
    path("api/crm/", include("jobs.api.urls")),
    re_path(r"^api/schema/?$", views.ApiSchemaView.as_view(), name="api_schema"),
    re_path(r"^api/docs/?$", views.ApiDocsView.as_view(url_name="api_schema"), name="api_docs"),
    path("django-admin/", admin.site.urls),
    path("", views.home, name="home"),
]

handler404 = "core.api.views.not_found"
