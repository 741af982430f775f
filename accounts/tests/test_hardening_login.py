"""Login brute force: five wrong passwords for one username from one address pause it."""

from datetime import timedelta

from axes.models import AccessAttempt

from django.utils import timezone

LOGIN = "/admin/login"
PASSWORD = "s3cret-pass-word"  # what conftest's make_user gives every user
LIMIT = 5  # COHORT_LOGIN_FAILURE_LIMIT's default


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username="admin", times=1, **extra):
    for _ in range(times):
        response = client.post(LOGIN, {"username": username, "password": "wrong"}, **extra)
    return response


def test_four_failures_still_let_the_right_password_in(client, admin_user):
    fail(client, times=LIMIT - 1)

    response = client.post(LOGIN, {"username": "admin", "password": PASSWORD})

    assert response.status_code == 302
    assert is_signed_in(client)


def test_the_fifth_failure_locks_the_login_and_says_until_when(client, admin_user):
    # given four failures
    assert fail(client, times=LIMIT - 1).status_code == 200

    # when the fifth fails too
    response = fail(client)

    # then the login page says in plain words that signing in is paused, and until when
    html = response.content.decode()
    assert response.status_code == 429
    assert 15 * 60 - 5 <= int(response["Retry-After"]) <= 15 * 60
    assert "<h1>Cohort</h1>" in html  # the site's login page, not a bare error
    assert "Too many failed attempts to sign in as “admin”" in html
    until = timezone.localtime(AccessAttempt.objects.get().attempt_time + timedelta(minutes=15))
    assert f"You can try again at {until:%H:%M %Z}, in 15 minutes." in html
    assert 'name="username"' in html and 'value="admin"' in html


def test_a_locked_login_refuses_even_the_right_password(client, admin_user):
    fail(client, times=LIMIT)

    response = client.post(LOGIN, {"username": "admin", "password": PASSWORD})

    assert response.status_code == 429
    assert "You can try again at" in response.content.decode()
    assert not is_signed_in(client)


def test_retrying_during_the_lockout_does_not_extend_it(client, admin_user):
    fail(client, times=LIMIT)
    first_until = AccessAttempt.objects.get().attempt_time

    response = fail(client, times=3)

    assert response.status_code == 429
    assert AccessAttempt.objects.get().attempt_time == first_until
    assert AccessAttempt.objects.get().failures_since_start == LIMIT


def test_the_lockout_ends_after_fifteen_minutes(client, admin_user):
    fail(client, times=LIMIT)

    # when fifteen minutes have passed since the last counted failure
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=15, seconds=1))

    response = client.post(LOGIN, {"username": "admin", "password": PASSWORD})
    assert response.status_code == 302
    assert is_signed_in(client)


def test_the_lockout_is_per_username_and_address(client, admin_user, make_user):
    make_user("colleague")
    fail(client, times=LIMIT)

    # another user from the same address, and the same user from another address, sign in
    same_address = client.post(LOGIN, {"username": "colleague", "password": PASSWORD})
    assert same_address.status_code == 302
    client.logout()
    other_address = client.post(
        LOGIN, {"username": "admin", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3"
    )
    assert other_address.status_code == 302


def test_a_successful_login_forgives_earlier_failures(client, admin_user):
    fail(client, times=LIMIT - 1)
    assert client.post(LOGIN, {"username": "admin", "password": PASSWORD}).status_code == 302
    client.logout()

    # four more failures do not lock: the count started again
    assert fail(client, times=LIMIT - 1).status_code == 200


def test_failures_for_unknown_usernames_are_throttled_too(client, db):
    assert fail(client, username="ghost", times=LIMIT).status_code == 429


def test_the_limit_comes_from_settings(client, admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 2

    assert fail(client).status_code == 200
    assert fail(client).status_code == 429


def test_the_stored_attempt_does_not_keep_the_password(client, admin_user):
    client.post(LOGIN, {"username": "admin", "password": "my-real-password-typo"})

    attempt = AccessAttempt.objects.get()
    assert "my-real-password-typo" not in attempt.post_data
