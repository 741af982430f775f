"""Job pages; the API lives in jobs.api and is routed by jobs.api.urls."""

from django.urls import re_path

from jobs import views

JOB = r"^admin/jobs/(?P<pk>[0-9a-fA-F-]{32,36})"

urlpatterns = [
    re_path(r"^admin/jobs/?$", views.job_list, name="job_list"),
    re_path(rf"{JOB}/?$", views.job_detail, name="job_detail"),
    re_path(rf"{JOB}/download/?$", views.job_download, name="job_download"),
]
