"""L6: a new password or a deactivation ends API access too, by any path; a session ends
after 12 hours without use."""

from datetime import timedelta

import pytest

from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import issue_token
from audit.choices import Action
from audit.models import AuditEntry

PROBE = "/api/crm/contacts"
NEW_PASSWORD = "an0ther-l0ng-passphrase"


def bearer(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(user, 'script').plain}")
    return client


def change_own_password(client, user):
    client.force_login(user)
    return client.post(
        "/admin/account/password",
        {
            "old_password": "s3cret-pass-word",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )


def change_by_admin(client, user):
    admin = type(user).objects.create_superuser("root", "root@example.com", "r00t-pass-word")
    client.force_login(admin)
    return client.post(
        f"/django-admin/accounts/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )


def change_by_command(client, user, monkeypatch):
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW_PASSWORD)
    call_command("changepassword", user.username, stdout=None)


@pytest.mark.parametrize("path", ["own", "admin", "command"])
def test_a_new_password_revokes_the_users_tokens(client, manager, path, monkeypatch):
    api = bearer(manager)
    assert api.get(PROBE).status_code == 200

    if path == "own":
        assert change_own_password(client, manager).status_code == 302
    elif path == "admin":
        assert change_by_admin(client, manager).status_code == 302
    else:
        change_by_command(client, manager, monkeypatch)

    manager.refresh_from_db()
    assert manager.check_password(NEW_PASSWORD)
    assert api.get(PROBE).status_code == 401
    assert not ApiToken.objects.filter(user=manager, revoked_at__isnull=True).exists()
    assert AuditEntry.objects.filter(action=Action.TOKEN_REVOKED).count() == 1


def test_deactivating_a_user_revokes_their_tokens_for_good(manager):
    api = bearer(manager)

    manager.is_active = False
    manager.save()
    manager.is_active = True  # reactivated later: the old tokens stay revoked
    manager.save()

    assert api.get(PROBE).status_code == 401


def test_other_saves_keep_the_tokens(manager):
    api = bearer(manager)

    manager.first_name = "Maria"
    manager.save()

    assert api.get(PROBE).status_code == 200


def session_row(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_a_session_lasts_twelve_hours_from_sign_in(client, manager):
    client.force_login(manager)
    client.get("/admin")

    left = session_row(client).expire_date - timezone.now()
    assert timedelta(hours=11, minutes=59) < left <= timedelta(hours=12)


def test_a_session_idle_for_twelve_hours_is_signed_out(client, manager):
    client.force_login(manager)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    response = client.get("/admin")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login")


def test_a_session_in_use_is_extended_at_most_once_a_minute(client, manager):
    client.force_login(manager)
    client.get("/admin")
    # Used 11 hours ago: one hour left, and the last extension long past.
    session = client.session
    session["_cohort_refreshed_at"] = int(timezone.now().timestamp()) - 11 * 3600
    session.save()
    Session.objects.update(expire_date=timezone.now() + timedelta(hours=1))

    assert client.get("/admin").status_code == 200
    extended = session_row(client).expire_date
    assert extended - timezone.now() > timedelta(hours=11, minutes=59)

    client.get("/admin")  # a second later: no new write
    assert session_row(client).expire_date == extended
