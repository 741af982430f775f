"""CRM → Tags pages, the Tags section endpoints of record pages, and bulk tagging of lists.

Every path answers with or without a trailing slash, like core.record_urls.
"""

from django.urls import re_path

from tags import views
from tags.records import TAGGABLE_TYPES

RECORD = rf"^admin/(?P<record_type>{'|'.join(TAGGABLE_TYPES)})"

urlpatterns = [
    re_path(r"^admin/crm/tags/?$", views.tag_list, name="tag_list"),
    re_path(r"^admin/crm/tags/new/?$", views.tag_add, name="tag_add"),
    re_path(r"^admin/crm/tags/suggest/?$", views.tag_suggest, name="tag_suggest"),
    re_path(r"^admin/crm/tags/(?P<pk>\d+)/edit/?$", views.tag_edit, name="tag_edit"),
    re_path(r"^admin/crm/tags/(?P<pk>\d+)/delete/?$", views.tag_delete, name="tag_delete"),
    re_path(r"^admin/crm/tags/(?P<pk>\d+)/merge/?$", views.tag_merge, name="tag_merge"),
    re_path(rf"{RECORD}/(?P<pk>\d+)/tags/?$", views.record_tags, name="record_tags"),
    re_path(
        rf"{RECORD}/(?P<pk>\d+)/tags/(?P<tag_id>\d+)/remove/?$",
        views.record_tag_remove,
        name="record_tag_remove",
    ),
    re_path(rf"{RECORD}/bulk-tags/?$", views.bulk_tags, name="bulk_tags"),
]
