"""API tokens: never stored or logged in plain text, refused at once when no longer valid,
and given an expiry on the token page."""

import json
import logging
import re
from datetime import timedelta

import pytest

from django.apps import apps
from django.db import connection, models
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


def rows_containing(text: str) -> list[str]:
    """Every model's text columns (audit log and third-party tables included) holding `text`."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        rows = model._base_manager
        for field in model._meta.concrete_fields:
            if isinstance(field, models.JSONField):
                values = rows.values_list(field.attname, flat=True)
                hit = any(text in json.dumps(value) for value in values)
            elif isinstance(field, (models.CharField, models.TextField)):
                hit = rows.filter(**{f"{field.attname}__contains": text}).exists()
            else:
                continue  # numbers, dates and the like cannot hold a token
            if hit:
                found.append(f"{model._meta.db_table}.{field.column}")
    return found


@pytest.fixture
def sql_logged():
    """Log every SQL statement with its parameters, as DEBUG=True would."""
    connection.force_debug_cursor = True
    yield
    connection.force_debug_cursor = False


def test_a_used_token_is_in_no_table_and_no_log(client, admin_user, caplog, sql_logged):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django")  # Django's own loggers stop at INFO
    client.force_login(admin_user)

    # given a token issued on the token page
    html = client.post(TOKEN_PAGE, {"name": "Zapier", "expires_in": "30"}).content.decode()
    plain = re.search(r"cohort_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}", html)[0]
    secret = plain.split("_", 2)[2]

    # when it reads, writes, and is then revoked and refused
    api = bearer(plain)
    assert api.get(PROBE).status_code == 200
    created = api.post(PROBE, {"first_name": "Grace", "notes": "via Zapier"}, format="json")
    assert created.status_code == 201
    client.post(f"{TOKEN_PAGE}/{ApiToken.objects.get().pk}/revoke")
    assert api.get(PROBE).status_code == 401

    # then no log record holds its secret part, though the SQL that looked it up was logged
    messages = [record.getMessage() for record in caplog.records]
    assert any("accounts_apitoken" in message for message in messages)
    assert [message for message in messages if secret in message] == []
    # and no column of any table does (this search logs its own SQL, hence after)
    assert rows_containing(secret) == []


def test_the_scan_would_find_a_token_stored_in_plain(admin_user):
    # The scan above is only worth something if it finds what it looks for.
    issued = issue_token(admin_user, "x")
    secret = issued.plain.split("_", 2)[2]
    ApiToken.objects.filter(pk=issued.token.pk).update(name=f"oops {secret}")

    assert rows_containing(secret) == [f"{ApiToken._meta.db_table}.name"]


def test_revocation_refuses_the_very_next_request(admin_user):
    issued = issue_token(admin_user, "test")
    api = bearer(issued.plain)
    assert api.get(PROBE).status_code == 200

    revoke_token(issued.token)

    assert api.get(PROBE).status_code == 401


def test_expiry_refuses_the_very_next_request(admin_user):
    issued = issue_token(admin_user, "test", expires_at=timezone.now() + timedelta(days=30))
    api = bearer(issued.plain)
    assert api.get(PROBE).status_code == 200

    # when its expiry time passes
    ApiToken.objects.filter(pk=issued.token.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    response = api.get(PROBE)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid, expired or revoked token."}


def test_a_deactivated_users_token_is_refused_on_the_next_request(admin_user):
    issued = issue_token(admin_user, "test")
    api = bearer(issued.plain)
    assert api.get(PROBE).status_code == 200

    admin_user.is_active = False
    admin_user.save(update_fields=["is_active"])

    assert api.get(PROBE).status_code == 401


# --- choosing an expiry on the token page -------------------------------------------------------


def test_token_page_offers_expiry_choices_defaulting_to_90_days(client, admin_user):
    client.force_login(admin_user)

    html = client.get(TOKEN_PAGE).content.decode()

    options = re.findall(r'<option value="(\d*)"( selected)?>([^<]+)</option>', html)
    assert [(value, label) for value, _, label in options] == [
        ("30", "30 days"),
        ("90", "90 days"),
        ("365", "1 year"),
        ("", "Never"),
    ]
    assert [value for value, selected, _ in options if selected] == ["90"]


@pytest.mark.parametrize(("choice", "days"), [("30", 30), ("90", 90), ("365", 365), ("", None)])
def test_a_token_expires_when_chosen_and_the_page_says_so(client, admin_user, choice, days):
    client.force_login(admin_user)

    html = client.post(TOKEN_PAGE, {"name": "CI", "expires_in": choice}).content.decode()

    token = ApiToken.objects.get()
    if days is None:
        assert token.expires_at is None
        assert re.search(r"<td>CI</td>.*?<td>Never</td>\s*<td><span", html, re.S)
    else:
        expected = timezone.now() + timedelta(days=days)
        assert abs(token.expires_at - expected) < timedelta(minutes=1)
        shown = timezone.localtime(token.expires_at).strftime("%-d %b %Y, %H:%M")
        assert f"<td>{shown}</td>" in html


def test_an_expired_token_is_shown_as_expired(client, admin_user):
    issue_token(admin_user, "old", expires_at=timezone.now() - timedelta(days=1))
    client.force_login(admin_user)

    html = client.get(TOKEN_PAGE).content.decode()

    assert '<span class="badge">Expired</span>' in html


def test_an_unknown_expiry_is_refused_with_a_message(client, admin_user):
    client.force_login(admin_user)

    response = client.post(TOKEN_PAGE, {"name": "CI", "expires_in": "7"})

    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert not ApiToken.objects.exists()
