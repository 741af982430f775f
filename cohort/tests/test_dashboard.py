"""The dashboard at /admin: counts, open deals and recent activity, each behind its permission."""

from datetime import timedelta

import pytest

from django.contrib.auth.models import Permission
from django.utils import timezone

from activities.models import Activity
from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead


def stat(count: int, label: str) -> str:
    return f'<span class="value">{count}</span><span class="label">{label}</span>'


@pytest.fixture
def records(contact):
    Contact.objects.bulk_create(Contact(first_name=f"C{n}") for n in range(2))
    Lead.objects.bulk_create(Lead(name=f"L{n}") for n in range(4))
    Deal.objects.create(title="Open", stage="proposal", contact=contact)
    Deal.objects.create(title="Won", stage="won")
    Activity.objects.create(contact=contact, kind="call", subject="Called about the engine")


@pytest.mark.parametrize("url", ["/admin", "/admin/"])
def test_dashboard_renders(browser_client, url):
    response = browser_client.get(url)
    assert response.status_code == 200
    assert "<h1>Dashboard</h1>" in response.content.decode()


def test_root_redirects_to_the_dashboard(browser_client):
    response = browser_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin"


def test_anonymous_is_sent_to_login(client, db):
    response = client.get("/admin")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login?next=/admin"


def test_dashboard_counts_contacts_leads_and_deals(browser_client, records):
    html = browser_client.get("/admin").content.decode()
    assert stat(3, "Contacts") in html
    assert stat(4, "Leads") in html
    assert stat(2, "Deals") in html
    assert stat(1, "Open deals") in html


def test_dashboard_counts_link_to_the_lists(browser_client, records):
    html = browser_client.get("/admin").content.decode()
    assert f'<a class="stat" href="/admin/contacts">{stat(3, "Contacts")}</a>' in html
    assert f'<a class="stat" href="/admin/leads">{stat(4, "Leads")}</a>' in html


def test_dashboard_shows_recent_activity(browser_client, records, contact):
    html = browser_client.get("/admin").content.decode()
    assert "Recent activity" in html
    assert "<strong>Call</strong> · Called about the engine" in html
    assert f'<a href="/admin/contacts/{contact.pk}">Ada Lovelace</a>' in html


def test_recent_activity_is_the_latest_ten_newest_first(browser_client, contact):
    start = timezone.now() - timedelta(days=30)
    Activity.objects.bulk_create(
        Activity(contact=contact, subject=f"Step {n:02}", occurred_at=start + timedelta(days=n))
        for n in range(12)
    )
    html = browser_client.get("/admin").content.decode()
    assert "Step 00" not in html
    assert "Step 01" not in html
    assert html.index("Step 11") < html.index("Step 10") < html.index("Step 02")


def test_empty_dashboard_says_so(browser_client):
    html = browser_client.get("/admin").content.decode()
    assert stat(0, "Contacts") in html
    assert "No activity yet." in html


def test_viewer_sees_every_count(client, viewer, records):
    client.force_login(viewer)
    html = client.get("/admin").content.decode()
    assert stat(3, "Contacts") in html
    assert stat(2, "Deals") in html
    assert "Called about the engine" in html


def test_user_without_deal_permission_sees_no_deal_counts(client, make_user, records):
    user = make_user("contacts-only")
    user.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(user)
    html = client.get("/admin").content.decode()
    assert stat(3, "Contacts") in html
    assert "Deals" not in html
    assert "Open deals" not in html
    assert "Leads" not in html
    assert "Recent activity" not in html
    assert 'href="/admin/deals"' not in html


def test_user_without_any_role_sees_an_empty_dashboard(client, nobody, records):
    client.force_login(nobody)
    response = client.get("/admin")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="stat"' not in html
    assert "Recent activity" not in html
    assert "Called about the engine" not in html


def test_navigation_follows_permissions(client, make_user, viewer):
    client.force_login(viewer)
    html = client.get("/admin").content.decode()
    for link in ('href="/admin/contacts"', 'href="/admin/leads"', 'href="/admin/deals"'):
        assert link in html
    user = make_user("contacts-only")
    user.user_permissions.add(Permission.objects.get(codename="view_contact"))
    client.force_login(user)
    html = client.get("/admin").content.decode()
    assert 'href="/admin/contacts"' in html
    assert 'href="/admin/leads"' not in html
    assert 'href="/admin/deals"' not in html


def test_dashboard_names_are_escaped(browser_client, admin_user):
    evil = Contact.objects.create(first_name="<script>alert(1)</script>")
    Activity.objects.create(contact=evil, subject="<b>bold</b>", owner=admin_user)
    html = browser_client.get("/admin").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "<b>bold</b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html
