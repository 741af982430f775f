"""A token's permissions come with the token (no query of their own) and are never stale:
a role given, taken away or a user deactivated counts from the very next request."""

import pytest

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient

from accounts.roles import SALES_REP, VIEWER
from accounts.tokens import find_active_token, issue_token
from contacts.models import Contact
from tags.models import Tag

ROLES = ["Administrator", "Sales manager", SALES_REP, VIEWER, None]


def bearer(plain: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


@pytest.fixture
def tag(db) -> Tag:
    return Tag.objects.create(name="vip", slug="vip", color="#2563eb")


@pytest.mark.parametrize("role", ROLES)
def test_the_token_carries_exactly_modelbackends_permissions(make_user, role):
    # given a user with a role and a permission of their own
    user = make_user("someone", role)
    user.user_permissions.add(Permission.objects.get(codename="view_auditentry"))
    plain = issue_token(user, "t").plain

    # when
    token = find_active_token(plain)

    # then the set is ModelBackend's, by name
    fresh = type(user).objects.get(pk=user.pk)
    assert token.user._perm_cache == ModelBackend().get_all_permissions(fresh)
    assert token.user.has_perm("audit.view_auditentry")


def test_a_superuser_keeps_every_permission(make_user):
    user = make_user("root", is_superuser=True)

    token = find_active_token(issue_token(user, "t").plain)

    assert token.user.has_perm("tags.manage_tag")
    assert token.user.get_all_permissions() == ModelBackend().get_all_permissions(user)


def test_permission_checks_cost_no_query(make_user, django_assert_num_queries):
    plain = issue_token(make_user("rep", SALES_REP), "t").plain
    find_active_token(plain)  # its first use is recorded (then at most once a minute)

    with django_assert_num_queries(1):  # the token, its user and its permissions
        token = find_active_token(plain)
        assert token.user.has_perm("contacts.change_contact")
        assert not token.user.has_perm("tags.manage_tag")


def test_a_role_taken_away_counts_from_the_next_request(make_user, contact, tag):
    rep = make_user("rep", SALES_REP)
    contact.owner = rep  # a rep tags only their own records
    contact.save()
    client = bearer(issue_token(rep, "t").plain)
    url = f"/api/crm/contacts/{contact.pk}/tags"
    assert client.post(url, {"tag_id": tag.pk}, format="json").status_code == 201

    # when the role goes
    rep.groups.clear()

    # then the very next request is refused
    assert client.post(url, {"tag_id": tag.pk}, format="json").status_code == 403
    assert client.get(url).status_code == 403


def test_a_role_given_and_a_group_edited_count_at_once(make_user, contact, tag):
    viewer = make_user("viewer", VIEWER)
    contact.owner = viewer  # once they may change contacts, they change their own
    contact.save()
    client = bearer(issue_token(viewer, "t").plain)
    url = f"/api/crm/contacts/{contact.pk}/tags"
    assert client.post(url, {"tag_id": tag.pk}, format="json").status_code == 403

    # when the viewers' role is given the permission
    Group.objects.get(name=VIEWER).permissions.add(
        Permission.objects.get(codename="change_contact")
    )

    # then
    assert client.post(url, {"tag_id": tag.pk}, format="json").status_code == 201


def test_a_deactivated_user_is_refused_at_once(make_user, contact):
    rep = make_user("rep", SALES_REP)
    client = bearer(issue_token(rep, "t").plain)
    assert client.get("/api/crm/contacts").status_code == 200

    type(rep).objects.filter(pk=rep.pk).update(is_active=False)

    assert client.get("/api/crm/contacts").status_code == 401
    assert Contact.objects.filter(pk=contact.pk).exists()
