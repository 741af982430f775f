"""Logging and deleting activities on a contact's timeline, as htmx does it."""

from datetime import datetime

import pytest

from django.utils import timezone

from activities.models import Activity
from deals.models import Deal


def at(text: str) -> datetime:
    """A time as the form's datetime-local input sends it, in the site's time zone."""
    return timezone.make_aware(datetime.strptime(text, "%Y-%m-%dT%H:%M"))


def activity_data(**overrides) -> dict:
    data = {
        "kind": "call",
        "subject": "Intro call",
        "occurred_at": "2024-05-01T10:30",
        "deal": "",
        "lead": "",
        "notes": "",
    }
    return {**data, **overrides}


def log(client, contact, **overrides):
    return client.post(
        f"/admin/contacts/{contact.pk}/activities",
        activity_data(**overrides),
        HTTP_HX_REQUEST="true",
    )


def test_logging_an_activity_returns_the_timeline_showing_it(browser_client, admin_user, contact):
    response = log(browser_client, contact, notes="Wants the engine by June")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith('<div class="panel" id="timeline">')
    assert "<strong>Call</strong> · Intro call" in html
    assert "1 May 2024, 10:30" in html
    assert "Wants the engine by June" in html
    activity = Activity.objects.get()
    assert activity.owner == admin_user
    assert activity.contact == contact
    # The form is fresh again, ready for the next activity.
    assert 'name="subject" value="Intro call"' not in html


def test_logging_updates_last_activity_at_to_the_latest(browser_client, contact):
    log(browser_client, contact, occurred_at="2024-05-01T10:30")
    contact.refresh_from_db()
    assert contact.last_activity_at == at("2024-05-01T10:30")
    log(browser_client, contact, subject="Older note", occurred_at="2024-01-01T09:00")
    contact.refresh_from_db()
    assert contact.last_activity_at == at("2024-05-01T10:30")


def test_activity_shows_on_the_contact_page(browser_client, contact):
    log(browser_client, contact, kind="meeting", subject="Demo of the engine")
    html = browser_client.get(f"/admin/contacts/{contact.pk}").content.decode()
    assert "<strong>Meeting</strong> · Demo of the engine" in html
    assert "<dt>Last activity</dt><dd>Never</dd>" not in html


def test_activity_about_a_deal_links_to_it(browser_client, contact):
    deal = Deal.objects.create(title="Engine order", contact=contact)
    html = log(browser_client, contact, deal=deal.pk).content.decode()
    assert f'deal <a href="/admin/deals/{deal.pk}">Engine order</a>' in html
    deal_page = browser_client.get(f"/admin/deals/{deal.pk}").content.decode()
    assert "Intro call" in deal_page


def test_deal_of_another_contact_is_refused(browser_client, contact):
    stranger_deal = Deal.objects.create(title="Someone else's")
    response = log(browser_client, contact, deal=stranger_deal.pk)
    assert response.status_code == 400
    assert not Activity.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subject": ""}, "This field is required."),
        ({"occurred_at": "yesterday"}, "Enter a valid date/time."),
        ({"kind": "fax"}, "Select a valid choice. fax is not one of the available choices."),
    ],
)
def test_invalid_activity_shows_the_error(browser_client, contact, overrides, message):
    response = log(browser_client, contact, **overrides)
    html = response.content.decode()
    assert response.status_code == 400
    assert f'<p class="field-error">{message}</p>' in html
    assert "<html" not in html
    assert not Activity.objects.exists()
    contact.refresh_from_db()
    assert contact.last_activity_at is None


def test_deleting_an_activity_refreshes_last_activity_at(browser_client, contact):
    log(browser_client, contact, subject="Earlier", occurred_at="2024-03-01T08:00")
    log(browser_client, contact, subject="Later", occurred_at="2024-04-01T08:00")
    later = Activity.objects.get(subject="Later")
    response = browser_client.post(f"/admin/activities/{later.pk}/delete", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Later" not in html
    assert "Earlier" in html
    contact.refresh_from_db()
    assert contact.last_activity_at == at("2024-03-01T08:00")

    earlier = Activity.objects.get()
    browser_client.post(f"/admin/activities/{earlier.pk}/delete", HTTP_HX_REQUEST="true")
    contact.refresh_from_db()
    assert contact.last_activity_at is None


def test_without_htmx_the_form_redirects_back_to_the_contact(browser_client, contact):
    response = browser_client.post(f"/admin/contacts/{contact.pk}/activities", activity_data())
    assert response.status_code == 302
    assert response["Location"] == f"/admin/contacts/{contact.pk}"
    assert Activity.objects.count() == 1


def test_viewer_cannot_log_or_delete(client, viewer, contact):
    client.force_login(viewer)
    assert log(client, contact).status_code == 403
    assert not Activity.objects.exists()
    activity = Activity.objects.create(contact=contact, subject="Kept")
    response = client.post(f"/admin/activities/{activity.pk}/delete", HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert Activity.objects.filter(pk=activity.pk).exists()


def test_viewer_sees_the_timeline_without_the_form(client, viewer, contact):
    Activity.objects.create(contact=contact, subject="Visible to all")
    client.force_login(viewer)
    html = client.get(f"/admin/contacts/{contact.pk}").content.decode()
    assert "Visible to all" in html
    assert "Log activity" not in html
    assert "/admin/activities/" not in html


def test_sales_rep_can_log_and_delete(client, rep, contact):
    client.force_login(rep)
    assert log(client, contact).status_code == 200
    activity = Activity.objects.get()
    assert activity.owner == rep
    client.post(f"/admin/activities/{activity.pk}/delete", HTTP_HX_REQUEST="true")
    assert not Activity.objects.exists()


def test_anonymous_is_sent_to_login(client, contact):
    response = log(client, contact)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login?next=")
    assert not Activity.objects.exists()


def test_get_is_not_allowed(browser_client, contact):
    assert browser_client.get(f"/admin/contacts/{contact.pk}/activities").status_code == 405


@pytest.mark.parametrize(
    "url", ["/admin/contacts/999999/activities", "/admin/activities/999999/delete"]
)
def test_missing_records_are_404(browser_client, db, url):
    assert browser_client.post(url, activity_data(), HTTP_HX_REQUEST="true").status_code == 404


def test_activity_subject_is_escaped(browser_client, contact):
    html = log(browser_client, contact, subject="<script>alert(1)</script>").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
