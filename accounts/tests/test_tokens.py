"""API tokens: how they are stored, checked, revoked, issued on the command line and the web."""

import hashlib
import re
from datetime import timedelta
from io import StringIO

import pytest

from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import issue_token, revoke_token

PROBE = "/api/crm/contacts"
TOKEN_PAGE = "/admin/account/tokens"


def bearer(plain: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


# --- storage ----------------------------------------------------------------------------------


def test_only_the_prefix_and_a_sha256_digest_are_stored(admin_user):
    # when
    issued = issue_token(admin_user, "Zapier")

    # then the plain token appears in no column of its row
    row = ApiToken.objects.filter(pk=issued.token.pk).values().get()
    assert all(issued.plain not in str(value) for value in row.values())
    assert row["digest"] == hashlib.sha256(issued.plain.encode()).hexdigest()
    assert issued.plain.startswith(f"cohort_{row['prefix']}_")
    assert row["name"] == "Zapier"


def test_each_token_is_different(admin_user):
    first, second = issue_token(admin_user, "a"), issue_token(admin_user, "a")

    assert first.plain != second.plain
    assert first.token.prefix != second.token.prefix


# --- checking ---------------------------------------------------------------------------------


def test_a_fresh_token_works_and_records_its_use(admin_user):
    issued = issue_token(admin_user, "test")
    assert issued.token.last_used_at is None

    response = bearer(issued.plain).get(PROBE)

    assert response.status_code == 200
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None
    assert timezone.now() - issued.token.last_used_at < timedelta(minutes=1)


def test_revocation_takes_effect_on_the_next_request(admin_user):
    # given a token that works
    issued = issue_token(admin_user, "test")
    client = bearer(issued.plain)
    assert client.get(PROBE).status_code == 200

    # when it is revoked
    revoke_token(issued.token)

    # then the very next request is refused
    response = client.get(PROBE)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_expired_token_is_refused(admin_user):
    issued = issue_token(admin_user, "test", expires_at=timezone.now() - timedelta(seconds=1))

    assert bearer(issued.plain).get(PROBE).status_code == 401


def test_a_token_that_expires_later_works(admin_user):
    issued = issue_token(admin_user, "test", expires_at=timezone.now() + timedelta(days=1))

    assert bearer(issued.plain).get(PROBE).status_code == 200


def test_an_inactive_users_token_is_refused(admin_user):
    issued = issue_token(admin_user, "test")
    admin_user.is_active = False
    admin_user.save()

    assert bearer(issued.plain).get(PROBE).status_code == 401


def test_a_token_with_the_right_prefix_but_wrong_secret_is_refused(admin_user):
    issued = issue_token(admin_user, "test")
    forged = f"cohort_{issued.token.prefix}_{'x' * 43}"

    assert bearer(forged).get(PROBE).status_code == 401


# --- the create_api_token command -------------------------------------------------------------


def test_create_api_token_prints_one_working_token(admin_user):
    out = StringIO()

    call_command("create_api_token", "admin", "--name", "x", stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert bearer(lines[0]).get(PROBE).status_code == 200
    assert admin_user.api_tokens.get().name == "x"


def test_create_api_token_for_an_unknown_user_fails(db):
    with pytest.raises(CommandError, match="ghost"):
        call_command("create_api_token", "ghost", stdout=StringIO())

    assert not ApiToken.objects.exists()


# --- the token page ---------------------------------------------------------------------------


def new_token_on(html: str) -> list[str]:
    return re.findall(r"cohort_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}", html)


def test_token_page_shows_a_new_token_exactly_once(client, admin_user):
    client.force_login(admin_user)

    # when a token is created
    response = client.post(TOKEN_PAGE, {"name": "Nightly sync"})

    # then its plain text is shown once, and it works
    assert response.status_code == 200
    shown = new_token_on(response.content.decode())
    assert len(shown) == 1
    assert bearer(shown[0]).get(PROBE).status_code == 200
    assert admin_user.api_tokens.get().name == "Nightly sync"

    # and never again
    again = client.get(TOKEN_PAGE)
    assert again.status_code == 200
    assert shown[0] not in again.content.decode()
    assert "Nightly sync" in again.content.decode()


def test_token_page_rejects_a_blank_name(client, admin_user):
    client.force_login(admin_user)

    response = client.post(TOKEN_PAGE + "/", {"name": "   "})

    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_token_page_requires_login(client, db):
    response = client.get(TOKEN_PAGE)

    assert response.status_code == 302
    assert "/admin/login" in response["Location"]


def test_revoking_from_the_page_stops_the_token(client, admin_user):
    # given
    client.force_login(admin_user)
    issued = issue_token(admin_user, "test")

    # when
    response = client.post(f"{TOKEN_PAGE}/{issued.token.pk}/revoke")

    # then
    assert response.status_code == 302
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None
    assert bearer(issued.plain).get(PROBE).status_code == 401


def test_revoke_needs_post(client, admin_user):
    client.force_login(admin_user)
    issued = issue_token(admin_user, "test")

    assert client.get(f"{TOKEN_PAGE}/{issued.token.pk}/revoke").status_code == 405
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None


def test_another_users_token_cannot_be_revoked(client, admin_user, manager):
    # given the manager's token
    issued = issue_token(manager, "theirs")
    client.force_login(admin_user)

    # when the admin tries to revoke it from their own page
    response = client.post(f"{TOKEN_PAGE}/{issued.token.pk}/revoke/")

    # then it is not found, and still works
    assert response.status_code == 404
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is None
    assert bearer(issued.plain).get(PROBE).status_code == 200


def test_token_page_lists_only_your_own_tokens(client, admin_user, manager):
    issue_token(manager, "Manager's secret integration")
    issue_token(admin_user, "Admin's integration")
    client.force_login(admin_user)

    html = client.get(TOKEN_PAGE).content.decode()

    assert "Admin&#x27;s integration" in html
    assert "secret integration" not in html
