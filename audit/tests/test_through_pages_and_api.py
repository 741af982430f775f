"""The pages and the API pass the signed-in user down: each change is recorded once, as theirs."""

import pytest

from accounts.models import ApiToken
from accounts.tokens import issue_token
from audit.choices import Action
from contacts.models import Contact
from segments import services as segment_services
from tags import services as tag_services


@pytest.fixture
def world(db, manager, contact):
    """A tag on the contact, a second tag, and a segment with the contact as a member."""
    tag = tag_services.create_tag("Enterprise", color="#2563eb", user=manager)
    other = tag_services.create_tag("Other", color="#16a34a", user=manager)
    tag_services.attach_tag(contact, tag)
    segment = segment_services.create_segment(name="Everyone", user=manager)
    segment_services.add_member(segment, contact, manager)
    return {"tag": tag, "other": other, "segment": segment, "contact": contact}


# (method, path, body, action): the path and body are formatted with the world's ids.
PAGE_CASES = [
    (
        "post",
        "/admin/crm/tags/{tag}/edit",
        {"name": "Key account", "color": "#2563eb", "description": ""},
        Action.TAG_UPDATED,
    ),
    ("post", "/admin/crm/tags/{tag}/delete", {}, Action.TAG_DELETED),
    (
        "post",
        "/admin/crm/tags/{tag}/merge",
        {"into": "{other}", "confirm": "on"},
        Action.TAG_MERGED,
    ),
    (
        "post",
        "/admin/contacts/bulk-tags",
        {"op": "add", "tags": "{other}", "ids": "{contact}"},
        Action.TAG_BULK_ADDED,
    ),
    ("post", "/admin/crm-segments/{segment}/sync", {}, Action.SEGMENT_SYNCED),
    (
        "post",
        "/admin/crm-segments/{segment}/members/{contact}/remove",
        {},
        Action.SEGMENT_MEMBER_REMOVED,
    ),
    ("post", "/admin/account/tokens", {"name": "Zapier"}, Action.TOKEN_CREATED),
]

API_CASES = [
    ("patch", "/api/crm/tags/{tag}", {"color": "#dc2626"}, Action.TAG_UPDATED),
    ("delete", "/api/crm/tags/{tag}", None, Action.TAG_DELETED),
    ("post", "/api/crm/tags/{tag}/merge", {"into": "{other}"}, Action.TAG_MERGED),
    (
        "post",
        "/api/crm/contacts/bulk-tags",
        {"ids": ["{contact}"], "remove": ["{tag}"]},
        Action.TAG_BULK_REMOVED,
    ),
    ("post", "/api/crm/segments", {"name": "New"}, Action.SEGMENT_CREATED),
    ("patch", "/api/crm/segments/{segment}", {"name": "All of them"}, Action.SEGMENT_UPDATED),
    ("delete", "/api/crm/segments/{segment}", None, Action.SEGMENT_DELETED),
    ("post", "/api/crm/segments/{segment}/sync", None, Action.SEGMENT_SYNCED),
    (
        "delete",
        "/api/crm/segments/{segment}/contacts/{contact}",
        None,
        Action.SEGMENT_MEMBER_REMOVED,
    ),
]


def fill(value, ids: dict):
    """`value` with "{tag}"-style placeholders filled with ids; a lone one becomes an int."""
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if filled.isdigit() and value != filled and "/" not in value else filled
    if isinstance(value, list):
        return [fill(item, ids) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, ids) for key, item in value.items()}
    return value


def ids_of(world: dict) -> dict:
    return {name: obj.pk for name, obj in world.items()}


@pytest.mark.parametrize(("method", "path", "body", "action"), PAGE_CASES)
def test_pages_record_the_signed_in_user(
    client, admin_user, world, recorded, method, path, body, action
):
    client.force_login(admin_user)
    ids = ids_of(world)

    def act():
        response = getattr(client, method)(fill(path, ids), fill(body, ids))
        assert response.status_code in (200, 302), response.content[:500]

    entries = recorded(act)

    assert [(e.action, e.actor, e.actor_name) for e in entries] == [(action, admin_user, "admin")]


@pytest.mark.parametrize(("method", "path", "body", "action"), API_CASES)
def test_the_api_records_the_tokens_user(
    api, admin_user, world, recorded, method, path, body, action
):
    ids = ids_of(world)

    def act():
        response = getattr(api, method)(fill(path, ids), fill(body, ids), format="json")
        assert response.status_code < 300, response.content[:500]

    entries = recorded(act)

    assert [(e.action, e.actor, e.actor_name) for e in entries] == [(action, admin_user, "admin")]


def test_revoking_on_the_tokens_page_is_recorded_once(client, manager, recorded):
    token = issue_token(manager, "Old", actor=manager).token
    client.force_login(manager)

    entries = recorded(lambda: client.post(f"/admin/account/tokens/{token.pk}/revoke"))
    again = recorded(lambda: client.post(f"/admin/account/tokens/{token.pk}/revoke"))

    assert [(e.action, e.actor, e.target_id) for e in entries] == [
        (Action.TOKEN_REVOKED, manager, token.pk)
    ]
    assert again == []
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_adding_a_member_on_the_segment_page_is_recorded(client, admin_user, world, recorded):
    grace = Contact.objects.create(first_name="Grace", last_name="Hopper")
    client.force_login(admin_user)

    entries = recorded(
        lambda: client.post(
            f"/admin/crm-segments/{world['segment'].pk}/members", {"contact_id": grace.pk}
        )
    )

    assert [(e.action, e.actor, e.details["contact_name"]) for e in entries] == [
        (Action.SEGMENT_MEMBER_ADDED, admin_user, "Grace Hopper")
    ]
