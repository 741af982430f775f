"""Logging in and out, and the API tokens page."""

import pytest

from accounts.models import ApiToken

PASSWORD = "s3cret-pass-word"  # what conftest's make_user gives every user


def is_signed_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("url", ["/admin/login", "/admin/login/"])
def test_login_page_renders(client, db, url):
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in html
    assert 'type="password"' in html
    assert "Log out" not in html


def test_login_with_right_credentials_goes_to_the_dashboard(client, admin_user):
    response = client.post("/admin/login", {"username": "admin", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/admin"
    assert is_signed_in(client)
    assert "<h1>Dashboard</h1>" in client.get(response["Location"]).content.decode()


def test_login_returns_to_the_page_asked_for(client, admin_user):
    response = client.post(
        "/admin/login?next=/admin/contacts",
        {"username": "admin", "password": PASSWORD, "next": "/admin/contacts"},
    )
    assert response["Location"] == "/admin/contacts"


def test_login_does_not_redirect_to_another_site(client, admin_user):
    response = client.post(
        "/admin/login",
        {"username": "admin", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/admin"


def test_login_form_carries_next(client, db):
    html = client.get("/admin/login?next=/admin/deals").content.decode()
    assert '<input type="hidden" name="next" value="/admin/deals">' in html


@pytest.mark.parametrize(
    ("username", "password"), [("admin", "wrong-password"), ("nosuchuser", PASSWORD)]
)
def test_wrong_credentials_reshow_the_form_with_an_error(client, admin_user, username, password):
    response = client.post("/admin/login", {"username": username, "password": password})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html
    assert "Please enter a correct username and password." in html
    assert f'value="{username}"' in html
    assert not is_signed_in(client)


def test_inactive_user_cannot_log_in(client, make_user):
    make_user("left", is_active=False)
    client.post("/admin/login", {"username": "left", "password": PASSWORD})
    assert not is_signed_in(client)


def test_signed_in_user_visiting_login_goes_to_the_dashboard(browser_client):
    response = browser_client.get("/admin/login")
    assert response["Location"] == "/admin"


def test_every_page_offers_log_out_as_a_post_form(browser_client):
    html = browser_client.get("/admin").content.decode()
    assert '<form method="post" action="/admin/logout" class="inline">' in html


def test_logout_is_a_post(browser_client):
    response = browser_client.post("/admin/logout")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login"
    assert not is_signed_in(browser_client)
    assert browser_client.get("/admin").status_code == 302


def test_logout_by_get_is_refused_and_keeps_me_signed_in(browser_client):
    assert browser_client.get("/admin/logout").status_code == 405
    assert is_signed_in(browser_client)


@pytest.mark.parametrize("url", ["/admin/account/tokens", "/admin/account/tokens/"])
def test_token_page_renders(browser_client, url):
    response = browser_client.get(url)
    assert response.status_code == 200
    assert "<h1>API tokens</h1>" in response.content.decode()
    assert "No tokens yet." in response.content.decode()


def test_token_page_needs_login(client, db):
    response = client.get("/admin/account/tokens")
    assert response["Location"] == "/admin/login?next=/admin/account/tokens"


def test_any_signed_in_user_has_a_token_page(client, nobody):
    client.force_login(nobody)
    assert client.get("/admin/account/tokens").status_code == 200


def test_create_token_shows_it_once(browser_client, admin_user):
    html = browser_client.post("/admin/account/tokens", {"name": "Zapier"}).content.decode()
    token = ApiToken.objects.get(user=admin_user)
    assert "Your new token" in html
    assert f"cohort_{token.prefix}_" in html
    assert "<td>Zapier</td>" in html
    again = browser_client.get("/admin/account/tokens").content.decode()
    assert "Your new token" not in again
    assert "<td>Zapier</td>" in again


def test_token_without_a_name_is_refused(browser_client, admin_user):
    response = browser_client.post("/admin/account/tokens", {"name": "   "})
    assert response.status_code == 400
    assert '<p class="field-error">This field is required.</p>' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoke_token(browser_client, admin_user):
    browser_client.post("/admin/account/tokens", {"name": "Nightly sync"})
    token = ApiToken.objects.get()
    response = browser_client.post(f"/admin/account/tokens/{token.pk}/revoke", follow=True)
    html = response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Token “Nightly sync” revoked: it no longer works." in html
    assert '<span class="badge lost">Revoked</span>' in html


def test_cannot_revoke_someone_elses_token(client, admin_user, rep):
    client.force_login(admin_user)
    client.post("/admin/account/tokens", {"name": "Admin's"})
    token = ApiToken.objects.get()
    client.force_login(rep)
    assert client.post(f"/admin/account/tokens/{token.pk}/revoke").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_page_lists_only_my_tokens(client, admin_user, rep):
    client.force_login(admin_user)
    client.post("/admin/account/tokens", {"name": "Admin's own"})
    client.force_login(rep)
    assert "Admin&#x27;s own" not in client.get("/admin/account/tokens").content.decode()
