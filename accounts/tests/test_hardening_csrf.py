"""CSRF: every form that posts carries the token, and a post without it is refused."""

from decimal import Decimal
from html.parser import HTMLParser

import pytest

from django.test import Client
from rest_framework.test import APIClient

from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead
from segments import services as segment_services
from tags import services as tag_services
from tags.models import Tag
from transfers import uploads

CSV = b"first_name,last_name,email\r\nGrace,Hopper,grace@navy.example\r\n"


class PostForms(HTMLParser):
    """Every <form method="post"> of a page, with the names of the inputs inside it."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._open: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self._open = {"action": attrs.get("action", ""), "inputs": set()}
            self.forms.append(self._open)
        elif tag == "input" and self._open is not None:
            self._open["inputs"].add(attrs.get("name"))

    def handle_endtag(self, tag):
        if tag == "form":
            self._open = None


def post_forms(html: str) -> list[dict]:
    parser = PostForms()
    parser.feed(html)
    return parser.forms


@pytest.fixture
def records(admin_user, contact, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the import upload below goes to a per-test folder
    lead = Lead.objects.create(name="Engine order", contact=contact, owner=admin_user)
    deal = Deal.objects.create(title="Engine", contact=contact, value=Decimal("100"))
    tag = tag_services.create_tag("customer", user=admin_user)
    tag_services.create_tag("prospect", user=admin_user)
    segment = segment_services.create_segment(
        name="British contacts",
        user=admin_user,
        criteria={
            "match": "all",
            "conditions": [{"field": "country", "operator": "equals", "value": "GB"}],
        },
    )
    segment_services.add_member(segment, contact, admin_user)
    return {
        "contact": contact,
        "lead": lead,
        "deal": deal,
        "tag": tag,
        "segment": segment,
        "upload": uploads.store_upload(admin_user, CSV),
    }


def form_pages(records) -> list[str]:
    pages = ["/admin", "/admin/account/tokens", "/admin/account/password"]
    for path, key in [("contacts", "contact"), ("leads", "lead"), ("deals", "deal")]:
        pk = records[key].pk
        pages += [f"/admin/{path}", f"/admin/{path}/new", f"/admin/{path}/{pk}"]
        pages += [f"/admin/{path}/{pk}/edit", f"/admin/{path}/{pk}/delete"]
        pages += [f"/admin/{path}/import"]
    tag, segment = records["tag"].pk, records["segment"].pk
    pages += ["/admin/crm/tags", "/admin/crm/tags/new", f"/admin/crm/tags/{tag}/edit"]
    pages += [f"/admin/crm/tags/{tag}/delete", f"/admin/crm/tags/{tag}/merge"]
    pages += ["/admin/crm-segments", "/admin/crm-segments/new", f"/admin/crm-segments/{segment}"]
    pages += [f"/admin/crm-segments/{segment}/edit", f"/admin/crm-segments/{segment}/delete"]
    pages += [f"/admin/contacts/import/{records['upload']}"]
    return pages


def test_every_post_form_carries_the_csrf_token(browser_client, records):
    pages = form_pages(records)
    checked = 0
    for url in pages:
        response = browser_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        forms = post_forms(html)
        assert forms, f"{url} has no post form (not even log out)"
        for form in forms:
            assert "csrfmiddlewaretoken" in form["inputs"], f"{url}: form {form['action']!r}"
        checked += len(forms)
        # htmx posts send the token as a header the page sets once for all of them.
        if "hx-post" in html:
            assert '"X-CSRFToken": "' in html, url
    assert checked > len(pages)  # besides log out, most pages have forms of their own

    login_forms = post_forms(Client().get("/admin/login").content.decode())
    assert login_forms and all("csrfmiddlewaretoken" in f["inputs"] for f in login_forms)


@pytest.fixture
def strict(admin_user) -> Client:
    """A signed-in browser that, like a real one, is held to CSRF checks."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    return client


def csrf_token_of(client, url: str) -> str:
    client.get(url)
    return client.cookies["csrftoken"].value


def test_a_form_post_without_the_token_is_refused(strict, admin_user):
    response = strict.post("/admin/account/tokens", {"name": "forged"})

    assert response.status_code == 403
    assert not admin_user.api_tokens.exists()
    # The same post with the token goes through: it was the token that was missing.
    token = csrf_token_of(strict, "/admin/account/tokens")
    ok = strict.post("/admin/account/tokens", {"name": "real", "csrfmiddlewaretoken": token})
    assert ok.status_code == 200
    assert list(admin_user.api_tokens.values_list("name", flat=True)) == ["real"]


def test_posts_without_the_token_change_nothing(strict, records):
    contact, tag, segment = records["contact"], records["tag"], records["segment"]
    forged = [
        ("/admin/contacts/new", {"first_name": "Forged", "last_name": "Contact"}),
        (f"/admin/contacts/{contact.pk}/edit", {"first_name": "Forged"}),
        (f"/admin/contacts/{contact.pk}/delete", {}),
        (f"/admin/leads/{records['lead'].pk}/delete", {}),
        (f"/admin/deals/{records['deal'].pk}/delete", {}),
        ("/admin/crm/tags/new", {"name": "forged", "color": "#ff0000"}),
        (f"/admin/crm/tags/{tag.pk}/delete", {}),
        (f"/admin/crm-segments/{segment.pk}/delete", {}),
        (f"/admin/crm-segments/{segment.pk}/sync", {}),
        (f"/admin/contacts/{contact.pk}/tags/{tag.pk}/remove", {}),
        ("/admin/contacts/import", {}),
        ("/admin/account/password", {"old_password": "x", "new_password1": "y"}),
        ("/admin/logout", {}),
    ]
    for url, data in forged:
        assert strict.post(url, data).status_code == 403, url

    contact.refresh_from_db()
    assert contact.first_name == "Ada"
    assert Contact.objects.count() == 1
    assert Tag.objects.filter(name="forged").count() == 0
    assert Tag.objects.filter(pk=tag.pk).exists()
    assert segment.__class__.objects.filter(pk=segment.pk).exists()
    assert "_auth_user_id" in strict.session  # still signed in: the log-out was refused


def test_a_login_post_without_the_token_is_refused(admin_user):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/admin/login", {"username": "admin", "password": "s3cret-pass-word"})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_session_api_writes_need_the_csrf_header(admin_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)

    refused = client.post("/api/crm/contacts", {"first_name": "Forged"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("CSRF Failed")
    assert refused_delete(client, admin_user) == 403
    assert not Contact.objects.filter(first_name="Forged").exists()

    # with the header the page would send, the same write goes through
    token = csrf_token_of(client, "/admin")
    allowed = client.post(
        "/api/crm/contacts", {"first_name": "Real"}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert allowed.status_code == 201


def refused_delete(client, admin_user) -> int:
    contact = Contact.objects.create(first_name="Kept", owner=admin_user)
    status = client.delete(f"/api/crm/contacts/{contact.pk}").status_code
    assert Contact.objects.filter(pk=contact.pk).exists()
    return status


def test_token_api_writes_need_no_csrf_header(api):
    # A Bearer token is not sent by browsers on their own, so it needs no CSRF token.
    assert api.post("/api/crm/contacts", {"first_name": "Ok"}, format="json").status_code == 201
