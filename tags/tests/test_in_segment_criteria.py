"""A tag that a segment's criteria name cannot disappear: deleting or merging it is refused."""

import pytest

from segments.services import create_segment
from tags.models import Tag
from tags.services import create_tag


@pytest.fixture
def used_tag(admin_user) -> Tag:
    tag = create_tag("enterprise", user=admin_user)
    create_segment(
        name="Enterprise in the US",
        user=admin_user,
        criteria={"match": "all", "conditions": [
            {"field": "tags", "operator": "has", "value": tag.pk},
        ]},
    )  # fmt: skip
    return tag


def test_api_delete_is_refused_with_the_segment_named(api, used_tag):
    response = api.delete(f"/api/crm/tags/{used_tag.pk}")
    assert response.status_code == 409
    assert "Enterprise in the US" in response.json()["detail"]
    assert Tag.objects.filter(pk=used_tag.pk).exists()


def test_api_merge_away_is_refused(api, used_tag, admin_user):
    other = create_tag("big-accounts", user=admin_user)
    response = api.post(f"/api/crm/tags/{used_tag.pk}/merge", {"into": other.pk}, format="json")
    assert response.status_code == 409
    assert Tag.objects.filter(pk=used_tag.pk).exists()


def test_delete_page_explains_and_refuses(browser_client, used_tag):
    page = browser_client.get(f"/admin/crm/tags/{used_tag.pk}/delete").content.decode()
    assert "Enterprise in the US" in page
    assert "Delete tag</button>" not in page
    response = browser_client.post(f"/admin/crm/tags/{used_tag.pk}/delete")
    assert response.status_code == 409
    assert Tag.objects.filter(pk=used_tag.pk).exists()
