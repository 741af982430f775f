"""Passwords: the change-password page and the demo admin's password obey Django's validators."""

from io import StringIO

import pytest

from django.core.management import CommandError, call_command

from accounts.models import User

PAGE = "/admin/account/password"
PASSWORD = "s3cret-pass-word"  # what conftest's make_user gives every user
STRONG = "violet-harbour-lantern-42"


def change(client, new1: str, new2: str | None = None, old: str = PASSWORD):
    data = {"old_password": old, "new_password1": new1, "new_password2": new2 or new1}
    return client.post(PAGE, data)


@pytest.mark.parametrize("url", [PAGE, PAGE + "/"])
def test_the_page_shows_the_form_and_the_rules(client, nobody, url):
    client.force_login(nobody)  # any signed-in user, whatever their role

    response = client.get(url)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Change password</h1>" in html
    assert 'name="old_password"' in html and 'name="new_password1"' in html
    assert "Your password must contain at least 8 characters." in html


def test_the_page_needs_sign_in(client, db):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"] == f"/admin/login?next={PAGE}"


def test_the_account_pages_link_to_each_other(browser_client):
    tokens = browser_client.get("/admin/account/tokens").content.decode()
    password = browser_client.get(PAGE).content.decode()

    assert f'href="{PAGE}">Change password</a>' in tokens
    assert 'href="/admin/account/tokens">API tokens</a>' in password
    # the user's name in the top bar leads to these account pages
    assert '<a href="/admin/account/tokens" aria-current="page">admin</a>' in password


def test_changing_the_password_keeps_me_signed_in(client, rep):
    client.force_login(rep)

    response = change(client, STRONG)

    assert response.status_code == 302
    assert response["Location"] == "/admin"
    assert "Your password has been changed." in client.get("/admin").content.decode()
    rep.refresh_from_db()
    assert rep.check_password(STRONG)
    assert client.get(PAGE).status_code == 200  # the session survived the change


@pytest.mark.parametrize(
    ("weak", "message"),
    [
        ("short1!", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("4815162342", "This password is entirely numeric."),
        ("manager2024", "The password is too similar to the username."),
    ],
)
def test_a_weak_password_is_refused_with_the_validators_message(client, manager, weak, message):
    client.force_login(manager)

    response = change(client, weak)

    assert response.status_code == 400
    assert f'<p class="field-error">{message}</p>' in response.content.decode()
    manager.refresh_from_db()
    assert manager.check_password(PASSWORD)


def test_the_old_password_must_be_right(client, rep):
    client.force_login(rep)

    response = change(client, STRONG, old="not-my-password")

    assert response.status_code == 400
    assert "Your old password was entered incorrectly." in response.content.decode()
    rep.refresh_from_db()
    assert rep.check_password(PASSWORD)


def test_the_two_new_passwords_must_match(client, rep):
    client.force_login(rep)

    response = change(client, STRONG, STRONG + "x")

    assert response.status_code == 400
    assert "The two password fields didn’t match." in response.content.decode()


# --- the demo admin's password from COHORT_ADMIN_PASSWORD --------------------------------------


def test_bootstrap_refuses_a_weak_admin_password(db, monkeypatch):
    monkeypatch.setenv("COHORT_ADMIN_PASSWORD", "password1")
    monkeypatch.setenv("COHORT_DEMO_CONTACTS", "0")

    with pytest.raises(CommandError) as refused:
        call_command("bootstrap_demo", stdout=StringIO())

    assert str(refused.value) == (
        "COHORT_ADMIN_PASSWORD is too weak: This password is too common. "
        "Choose a stronger one, or unset it to have a password generated."
    )
    assert not User.objects.filter(username="admin").exists()


def test_bootstrap_accepts_a_strong_admin_password(db, monkeypatch):
    monkeypatch.setenv("COHORT_ADMIN_PASSWORD", STRONG)
    monkeypatch.setenv("COHORT_DEMO_CONTACTS", "0")

    call_command("bootstrap_demo", stdout=StringIO())

    assert User.objects.get(username="admin").check_password(STRONG)


def test_a_weak_password_does_not_stop_a_later_start(db, monkeypatch):
    # `make run` on an existing database never uses the variable, so it need not be strong.
    monkeypatch.setenv("COHORT_DEMO_CONTACTS", "0")
    monkeypatch.delenv("COHORT_ADMIN_PASSWORD", raising=False)
    call_command("bootstrap_demo", stdout=StringIO())
    monkeypatch.setenv("COHORT_ADMIN_PASSWORD", "admin")

    out = StringIO()
    call_command("bootstrap_demo", stdout=out)

    assert "keeping the existing data" in out.getvalue()
