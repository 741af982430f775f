"""Nothing a segment's criteria name can disappear under it."""

import pytest

from django.db.models import ProtectedError

from segments import services
from segments.models import CriteriaReference, Segment
from segments.references import SegmentInUse, ensure_unused, segments_using
from segments.tests.conftest import make_tag


@pytest.fixture
def vip(db):
    return make_tag("vip")


def uses(field, operator, value) -> dict:
    return {"conditions": [{"field": field, "operator": operator, "value": value}]}


def test_segments_using_finds_tags_users_and_segments(vip, rep, admin_user):
    base = services.create_segment(name="Base", user=admin_user)
    by_tag = services.create_segment(
        name="By tag", user=admin_user, criteria=uses("tags", "has_all", [vip.pk])
    )
    by_owner = services.create_segment(
        name="By owner", user=admin_user, criteria=uses("owner", "in", [rep.pk])
    )
    by_segment = services.create_segment(
        name="By segment", user=admin_user, criteria=uses("segment", "not_in_segment", base.pk)
    )

    assert segments_using("tag", vip.pk) == [by_tag]
    assert segments_using("user", rep.pk) == [by_owner]
    assert segments_using("segment", base.pk) == [by_segment]
    assert segments_using("segment", by_tag.pk) == []


def test_references_follow_criteria_edits(vip, admin_user):
    segment = services.create_segment(
        name="S", user=admin_user, criteria=uses("tags", "has", vip.pk)
    )

    services.update_segment(segment, user=admin_user, criteria=uses("city", "equals", "Paris"))

    assert segments_using("tag", vip.pk) == []
    assert not CriteriaReference.objects.exists()


def test_ensure_unused_names_the_segments(vip, admin_user):
    services.create_segment(name="VIP list", user=admin_user, criteria=uses("tags", "has", vip.pk))
    services.create_segment(
        name="Also VIP", user=admin_user, criteria=uses("tags", "has_none", [vip.pk])
    )

    with pytest.raises(SegmentInUse) as caught:
        ensure_unused("tag", vip)

    assert str(caught.value) == (
        "Tag “vip” is used in the filter criteria of segments “Also VIP”, “VIP list”; "
        "change those criteria first."
    )


def test_the_database_layer_refuses_to_delete_a_used_tag_or_user(vip, rep, admin_user):
    services.create_segment(name="S", user=admin_user, criteria=uses("tags", "has", vip.pk))
    services.create_segment(name="T", user=admin_user, criteria=uses("owner", "equals", rep.pk))

    with pytest.raises(ProtectedError):
        vip.delete()
    with pytest.raises(ProtectedError):
        rep.delete()


def test_deleting_a_segment_another_uses_is_refused(admin_user):
    base = services.create_segment(name="Base", user=admin_user)
    services.create_segment(
        name="User", user=admin_user, criteria=uses("segment", "in_segment", base.pk)
    )

    with pytest.raises(
        SegmentInUse, match="Segment “Base” is used in the filter criteria of segment “User”"
    ):
        services.delete_segment(base, admin_user)
    assert Segment.objects.filter(pk=base.pk).exists()


def test_deleting_a_segment_takes_its_references_along(vip, admin_user):
    segment = services.create_segment(
        name="S", user=admin_user, criteria=uses("tags", "has", vip.pk)
    )

    services.delete_segment(segment, admin_user)

    assert not Segment.objects.exists()
    vip.delete()  # no longer protected
