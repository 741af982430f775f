from django.urls import re_path

from activities import views

urlpatterns = [
    re_path(
        r"^admin/contacts/(?P<contact_pk>\d+)/activities/?$",
        views.activity_create,
        name="activity_create",
    ),
    re_path(
        r"^admin/activities/(?P<pk>\d+)/delete/?$", views.activity_delete, name="activity_delete"
    ),
]
