"""API rate limits: 429 with Retry-After, rates from the environment at request time."""

import pytest

from django.core.exceptions import ImproperlyConfigured
from rest_framework.test import APIClient

from core.api import throttling

PROBE = "/api/crm/contacts"
PUBLIC = "/api/schema"  # an API page anonymous clients may read, once published


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, frozen at the start of a minute; tests move it forward."""
    now = [1_800_000_000.0 - 1_800_000_000.0 % 60]
    monkeypatch.setattr(throttling.EnvironmentRateThrottle, "timer", staticmethod(lambda: now[0]))
    return now


def test_a_user_over_the_limit_gets_429_with_retry_after(monkeypatch, api, clock):
    monkeypatch.setenv("COHORT_API_THROTTLE_USER", "3/min")
    clock[0] += 20
    assert [api.get(PROBE).status_code for _ in range(3)] == [200, 200, 200]

    response = api.get(PROBE)

    assert response.status_code == 429
    assert response["Retry-After"] == "40"  # the minute's window ends in 40 s
    assert response.json() == {"detail": "Request was throttled. Expected available in 40 seconds."}


def test_the_limit_lifts_when_the_window_ends(monkeypatch, api, clock):
    monkeypatch.setenv("COHORT_API_THROTTLE_USER", "1/min")
    assert api.get(PROBE).status_code == 200
    assert api.get(PROBE).status_code == 429

    clock[0] += 60

    assert api.get(PROBE).status_code == 200


def test_each_user_has_their_own_budget(monkeypatch, api_client_for, admin_user, manager):
    monkeypatch.setenv("COHORT_API_THROTTLE_USER", "1/min")
    admins, managers = api_client_for(admin_user), api_client_for(manager)
    assert admins.get(PROBE).status_code == 200
    assert admins.get(PROBE).status_code == 429

    assert managers.get(PROBE).status_code == 200


def test_one_users_tokens_share_a_budget(monkeypatch, api_client_for, admin_user):
    monkeypatch.setenv("COHORT_API_THROTTLE_USER", "1/min")
    assert api_client_for(admin_user).get(PROBE).status_code == 200

    assert api_client_for(admin_user).get(PROBE).status_code == 429


def test_a_session_user_is_throttled_too(monkeypatch, admin_user):
    monkeypatch.setenv("COHORT_API_THROTTLE_USER", "1/min")
    client = APIClient()
    client.force_login(admin_user)
    assert client.get(PROBE).status_code == 200

    assert client.get(PROBE).status_code == 429


def test_the_default_user_rate_allows_a_busy_integration(monkeypatch, api):
    monkeypatch.delenv("COHORT_API_THROTTLE_USER", raising=False)

    assert {api.get(PROBE).status_code for _ in range(30)} == {200}


def test_a_load_test_rate_is_accepted(monkeypatch, api):
    monkeypatch.setenv("COHORT_API_THROTTLE_USER", "1000000/min")

    assert {api.get(PROBE).status_code for _ in range(10)} == {200}


def test_anonymous_clients_are_limited_by_address(monkeypatch, client, db, settings):
    settings.COHORT_PUBLIC_API_DOCS = True
    monkeypatch.setenv("COHORT_API_THROTTLE_ANON", "1/min")
    assert client.get(PUBLIC).status_code == 200

    refused = client.get(PUBLIC)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60

    assert client.get(PUBLIC, REMOTE_ADDR="10.9.8.7").status_code == 200


def test_none_switches_a_limit_off(monkeypatch, api):
    monkeypatch.setenv("COHORT_API_THROTTLE_USER", "none")

    assert {api.get(PROBE).status_code for _ in range(5)} == {200}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3000/min", (3000, 60)),
        ("1000000/min", (1_000_000, 60)),
        ("50/s", (50, 1)),
        (" 10 / hour ", (10, 3600)),
        ("100/5min", (100, 300)),
        ("7/day", (7, 86400)),
        ("none", None),
    ],
)
def test_rates_people_write_are_understood(value, expected):
    assert throttling.parse_rate("COHORT_API_THROTTLE_USER", value) == expected


@pytest.mark.parametrize("value", ["fast", "100", "100/fortnight", "-1/min", "10/0min"])
def test_a_mistyped_rate_says_how_to_write_it(value):
    with pytest.raises(ImproperlyConfigured, match="write it like '3000/min'"):
        throttling.parse_rate("COHORT_API_THROTTLE_USER", value)
