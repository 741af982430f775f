"""Deleting a record keeps the counts that mention it exact: tag usage, segment members."""

import pytest

from segments.services import add_member, create_segment
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
