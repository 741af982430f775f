"""Deleting a record keeps the counts that mention it exact: tag usage, segment members.

Every taggable record type must delete through its own service (the guard below).
"""

import pytest

from django.urls import resolve, reverse

from core.api.viewsets import RecordViewSet
from core.generic_views import ObjectDeleteView
from segments.services import add_member, create_segment
from tags.records import TAGGABLE_TYPES
from tags.services import attach_tag, create_tag


@pytest.mark.parametrize("how", ["api", "page"])
def test_deleting_a_contact_updates_tag_usage_and_segment_members(
    how, api, browser_client, contact, admin_user
):
    # given a contact with a tag, in a segment
    tag = create_tag("vip", user=admin_user)
    attach_tag(contact, tag)
    segment = create_segment(name="Hand-picked", user=admin_user)
    add_member(segment, contact, admin_user)
    segment.refresh_from_db()
    assert segment.member_count == 1
    # when the contact is deleted
    if how == "api":
        assert api.delete(f"/api/crm/contacts/{contact.pk}").status_code == 204
    else:
        assert browser_client.post(f"/admin/contacts/{contact.pk}/delete").status_code == 302
    # then nothing still counts it
    tag.refresh_from_db()
    segment.refresh_from_db()
    assert (tag.contacts_count, tag.total_count) == (0, 0)
    assert segment.member_count == 0


# --- every record type that carries tags deletes through its own service -----------------------

# The fewest fields that make a record of each type; a new taggable type must add its own.
MINIMAL = {
    "contacts": {"first_name": "Ada"},
    "leads": {"name": "Analytical Engines"},
    "deals": {"title": "Difference Engine"},
}


@pytest.mark.parametrize("key", TAGGABLE_TYPES)
def test_every_taggable_types_delete_view_and_viewset_call_its_delete_service(key):
    # The base hooks only delete the row: a type left with them would let its tags'
    # usage counters drift (and, for contacts, its segments' member counts).
    taggable = TAGGABLE_TYPES[key]
    name = taggable.model._meta.model_name
    page = resolve(reverse(f"{name}_delete", args=[1])).func.view_class
    viewset = resolve(f"/api/crm/{key}/1").func.cls
    assert page.model is taggable.model and viewset.queryset.model is taggable.model
    assert page.delete_record is not ObjectDeleteView.delete_record
    assert viewset.delete_record is not RecordViewSet.delete_record


@pytest.mark.parametrize("how", ["api", "page"])
@pytest.mark.parametrize("key", TAGGABLE_TYPES)
def test_deleting_any_taggable_record_takes_it_off_its_tags_usage(
    key, how, api, browser_client, admin_user
):
    # given a record of the type, tagged
    taggable = TAGGABLE_TYPES[key]
    record = taggable.model.objects.create(**MINIMAL[key])
    tag = create_tag("vip", user=admin_user)
    attach_tag(record, tag)
    tag.refresh_from_db()
    assert getattr(tag, taggable.counter) == 1
    # when it is deleted
    if how == "api":
        assert api.delete(f"/api/crm/{key}/{record.pk}").status_code == 204
    else:
        url = reverse(f"{taggable.model._meta.model_name}_delete", args=[record.pk])
        assert browser_client.post(url).status_code == 302
    # then the tag no longer counts it
    assert not taggable.model.objects.filter(pk=record.pk).exists()
    tag.refresh_from_db()
    assert (getattr(tag, taggable.counter), tag.total_count) == (0, 0)
