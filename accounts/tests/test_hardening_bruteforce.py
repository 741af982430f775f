"""L2: guessing spread out is paused too — one address trying many usernames (password
spraying), one username tried from many addresses (distributed guessing), and wrong
Bearer tokens from one address."""

import pytest

from rest_framework.test import APIClient

LOGIN = "/admin/login"
PASSWORD = "s3cret-pass-word"  # what conftest's make_user gives every user
PER_ADDRESS = PER_USERNAME = 20  # COHORT_LOGIN_ADDRESS_LIMIT's and _USERNAME_LIMIT's defaults
PER_PAIR = 5
TOKENS = 20  # COHORT_TOKEN_FAILURE_LIMIT's default


def attempt(client, username: str, address: str, password: str = "wrong"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


@pytest.fixture
def users(make_user):
    return [make_user(f"user{n}") for n in range(6)]


def test_password_spraying_from_one_address_is_paused(client, users):
    # Below the per-pair limit for each username, 20 failures in all from one address:
    # the one that reaches the address's limit is refused, as the fifth of a pair is.
    answers = [
        attempt(client, user.username, "10.0.0.1").status_code
        for user in users[:5]
        for _ in range(PER_PAIR - 1)
    ]
    assert answers == [200] * (PER_ADDRESS - 1) + [429]

    refused = attempt(client, users[5].username, "10.0.0.1", PASSWORD)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 14 * 60
    assert "from your network, for several usernames" in refused.content.decode()
    # Another address signs in as usual.
    assert attempt(client, users[5].username, "10.0.0.2", PASSWORD).status_code == 302


def test_distributed_guessing_of_one_username_is_paused(client, users):
    target = users[0].username
    # 4 failures from each of 5 addresses: no pair reaches its limit, the username does.
    answers = [
        attempt(client, target, f"10.1.0.{address}").status_code
        for address in range(5)
        for _ in range(PER_PAIR - 1)
    ]
    assert answers == [200] * (PER_USERNAME - 1) + [429]

    refused = attempt(client, target, "10.1.0.99", PASSWORD)

    assert refused.status_code == 429
    assert f"sign in as “{target}” from several networks" in refused.content.decode()
    # Other people at those addresses are not locked out.
    assert attempt(client, users[1].username, "10.1.0.1", PASSWORD).status_code == 302


def test_wrong_bearer_tokens_from_one_address_are_counted(db, api):
    guesser = APIClient(REMOTE_ADDR="10.2.0.1")
    guesser.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")
    answers = [guesser.get("/api/crm/contacts").status_code for _ in range(TOKENS)]
    assert answers == [401] * TOKENS

    refused = guesser.get("/api/crm/contacts")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "Too many requests with a wrong API token from your address" in refused.json()["detail"]
    # Another address is not affected, and real tokens keep working there.
    other = APIClient(REMOTE_ADDR="10.2.0.2")
    other.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")
    assert other.get("/api/crm/contacts").status_code == 401
    assert api.get("/api/crm/contacts", REMOTE_ADDR="10.2.0.2").status_code == 200
