"""The guide's Segments steps in a real browser (Playwright driving Debian's Chromium):
build "Enterprise contacts in the US" in the criteria builder, watch the preview, Save,
Sync, Export CSV, Remove a member and see it stay removed after the next Sync.

Playwright never downloads a browser here: it launches /usr/bin/chromium. Without it
these tests skip, except under CI=true, where a missing browser fails. Set
COHORT_SCREENSHOTS=/some/dir to keep screenshots of the pages at 1280 and 390 px.
"""

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from django.utils import timezone

from contacts.models import Contact
from segments import services
from segments.models import Segment, SegmentMember, SyncRun
from segments.sync import sync_segment
from segments.tests.conftest import make_tag
from tags.models import ContactTag
from testing.browser import PHONE

pytestmark = [
    pytest.mark.browser,
    # serialized_rollback: the flush after a live-server test must not lose the seeded roles.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MATCH_NOW = re.compile(r"\d+ contacts? match(es)? now")


@pytest.fixture
def people(enterprise_people):
    """The guide's example contacts, and a second tag to pick from."""
    make_tag("vip", "#9333ea")
    return enterprise_people


def member_names(page) -> list[str]:
    return sorted(page.locator(".member-table tbody tr td:first-child a").all_inner_texts())


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def overflowing(page) -> list[str]:
    """What sticks out past the right edge (to say why a page does not fit)."""
    return page.evaluate(
        """Array.from(document.querySelectorAll("body *"))
             .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
             .slice(0, 8)
             .map((e) => e.tagName + "." + e.className)"""
    )


# --- the guide, step by step ------------------------------------------------------------------


def test_build_sync_export_remove_and_resync(
    live_server, open_page, log_in, shoot, admin_user, people
):
    from playwright.sync_api import expect

    page = open_page()
    log_in(page, admin_user)

    # CRM → Segments, New Segment.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Segments").click()
    page.wait_for_url(re.compile(r"/admin/crm-segments$"))
    shoot(page, "01-list-empty-1280")
    page.get_by_role("link", name="New Segment").click()
    page.wait_for_url(re.compile(r"/admin/crm-segments/new$"))

    # Name, Description.
    page.locator("#id_name").fill("Enterprise contacts in the US")
    page.get_by_label("Description").fill("For targeted email outreach")

    # Filter Criteria: tags has enterprise …
    builder = page.locator("[data-criteria-builder]")
    expect(builder).to_be_visible()
    expect(page.locator("[data-preview]")).to_contain_text("0 contacts match now")
    builder.get_by_role("button", name="+ Add condition").click()
    first = builder.locator(".criteria-row").nth(0)
    expect(first.get_by_label("Field", exact=True)).to_be_focused()
    first.get_by_label("Field", exact=True).select_option(label="Tags")
    expect(first.get_by_label("Operator", exact=True)).to_have_value("has")
    tags = first.get_by_role("combobox", name="Tags")
    tags.fill("ent")
    option = first.get_by_role("option", name="enterprise")
    expect(option.locator(".tag-swatch")).to_have_css("background-color", "rgb(37, 99, 235)")
    option.click()
    chip = first.locator(".tag-chip", has_text="enterprise")
    expect(chip).to_have_css("background-color", "rgb(37, 99, 235)")

    # … AND country equals United States.
    builder.get_by_role("button", name="+ Add condition").click()
    second = builder.locator(".criteria-row").nth(1)
    second.get_by_label("Field", exact=True).select_option(label="Country")
    expect(second.get_by_label("Operator", exact=True)).to_have_value("equals")
    second.get_by_label("Value", exact=True).select_option(label="United States of America")

    # The preview follows: three contacts match.
    preview = page.locator("[data-preview]")
    expect(preview).to_contain_text("3 contacts match now")
    for name in ["Ann Archer", "Ben Baker", "Cat Cole"]:
        expect(preview).to_contain_text(name)
    expect(preview).not_to_contain_text("Dan Dale")
    criteria = json.loads(page.locator("textarea[name=criteria]").input_value())
    assert criteria == {
        "match": "all",
        "conditions": [
            {"field": "tags", "operator": "has", "value": people["enterprise"].pk},
            {"field": "country", "operator": "equals", "value": "US"},
        ],
    }
    shoot(page, "02-new-segment-builder-1280")

    # Save.
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/admin/crm-segments/\d+$"))
    segment = Segment.objects.get(name="Enterprise contacts in the US")
    assert segment.criteria == criteria
    expect(page.get_by_text("No members yet. Click Sync to fill the segment.")).to_be_visible()

    # Sync.
    page.get_by_role("button", name="Sync", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Synced: +3 added, −0 removed, 3 members.")
    assert member_names(page) == ["Ann Archer", "Ben Baker", "Cat Cole"]
    expect(page.locator("#member-count")).to_have_text("3")
    shoot(page, "03-segment-synced-1280")

    # Export CSV.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert re.fullmatch(
        r"segment-enterprise-contacts-in-the-us-\d{8}\.csv", download.suggested_filename
    )
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0] == [
        "id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "country",
        "owner",
        "tags",
        "added_how",
        "added_at",
    ]
    assert sorted((row[1], row[3], row[6], row[8], row[9]) for row in rows[1:]) == [
        ("Ann", "ann@acme.example", "US", "enterprise", "rule"),
        ("Ben", "ben@acme.example", "US", "enterprise", "rule"),
        ("Cat", "cat@corp.example", "US", "enterprise", "rule"),
    ]

    # Remove one member: the table updates in place.
    page.evaluate("window.__noReload = true")
    page.get_by_role("button", name="Remove Ben Baker").click()
    expect(page.locator("#members")).to_contain_text("Removed Ben Baker.")
    expect(page.locator("#member-count")).to_have_text("2")
    assert member_names(page) == ["Ann Archer", "Cat Cole"]
    assert page.evaluate("window.__noReload === true")

    # Sync again: Ben stays removed.
    page.get_by_role("button", name="Sync", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Synced: +0 added, −0 removed, 2 members.")
    assert member_names(page) == ["Ann Archer", "Cat Cole"]
    assert not SegmentMember.objects.filter(segment=segment, contact=people["ben"]).exists()

    # The contact picker adds Eve by hand; she matches a condition (country), so syncs keep her.
    page.get_by_label("Add a contact").fill("eve")
    page.get_by_role("button", name="Add Eve Evans").click()
    expect(page.locator("#members")).to_contain_text("Added Eve Evans by hand")
    expect(page.locator("#member-count")).to_have_text("3")
    expect(page.get_by_label("Add a contact")).to_have_value("")
    eve = page.locator(".member-table tbody tr", has_text="Eve Evans")
    expect(eve.locator(".badge")).to_have_text("Manual")
    page.get_by_role("button", name="Sync", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Synced: +0 added, −0 removed, 3 members.")
    assert member_names(page) == ["Ann Archer", "Cat Cole", "Eve Evans"]

    # Click through to a contact.
    page.locator("#members").get_by_role("link", name="Ann Archer").click()
    page.wait_for_url(re.compile(rf"/admin/contacts/{people['ann'].pk}$"))
    assert page.js_errors == []


def test_nested_groups_server_errors_and_phone_width(
    live_server, open_page, log_in, shoot, admin_user, manager, people
):
    from playwright.sync_api import expect

    # given a segment with a sync history
    segment = services.create_segment(
        name="Enterprise contacts in the US",
        description="For targeted email outreach",
        criteria={
            "match": "all",
            "conditions": [
                {"field": "tags", "operator": "has", "value": people["enterprise"].pk},
                {"field": "country", "operator": "equals", "value": "US"},
            ],
        },
        user=admin_user,
    )
    changes = [
        lambda: Contact.objects.filter(pk=people["dan"].pk).update(country="US"),  # +1
        lambda: Contact.objects.filter(pk=people["ann"].pk).update(country="GB"),  # -1
        lambda: ContactTag.objects.create(record=people["eve"], tag=people["enterprise"]),  # +1
        lambda: None,
    ]
    for days_ago, change in zip([3, 2, 1, 0], changes, strict=True):
        run = sync_segment(segment, manager)
        SyncRun.objects.filter(pk=run.pk).update(
            started_at=timezone.now() - timedelta(days=days_ago)
        )
        change()

    page = open_page()
    log_in(page, admin_user)
    page.goto(f"{live_server.url}/admin/crm-segments")
    shoot(page, "04-list-1280")
    page.goto(f"{live_server.url}/admin/crm-segments/{segment.pk}")
    expect(page.locator(".member-chart svg")).to_be_visible()
    expect(page.locator(".chart-dot")).to_have_count(4)
    shoot(page, "05-segment-history-1280")

    # The edit page rebuilds the saved criteria; add a nested "any" group.
    page.goto(f"{live_server.url}/admin/crm-segments/{segment.pk}/edit")
    builder = page.locator("[data-criteria-builder]")
    expect(builder.locator(".criteria-row")).to_have_count(2)
    expect(builder.locator(".criteria-row").nth(0).locator(".tag-chip")).to_have_text("enterprise×")
    builder.get_by_role("button", name="+ Add group").click()
    group = builder.locator(".criteria-group .criteria-group")
    expect(group.get_by_label("This group must match")).to_have_value("any")
    row = group.locator(".criteria-row").nth(0)
    row.get_by_label("Field", exact=True).select_option(label="Lead score")
    row.get_by_label("Operator", exact=True).select_option(label="between")
    row.get_by_label("From", exact=True).fill("10")
    row.get_by_label("To", exact=True).fill("90")
    group.get_by_role("button", name="+ Add condition").click()
    row = group.locator(".criteria-row").nth(1)
    row.get_by_label("Field", exact=True).select_option(label="Last activity")
    row.get_by_label("Operator", exact=True).select_option(label="not in the last N days")
    row.get_by_label("Number of days", exact=True).fill("90")
    group.get_by_role("button", name="+ Add condition").click()
    row = group.locator(".criteria-row").nth(2)
    row.get_by_label("Field", exact=True).select_option(label="Country")
    row.get_by_label("Operator", exact=True).select_option(label="is one of")
    countries = row.get_by_role("combobox", name="Values")
    countries.fill("germ")
    countries.press("Enter")
    countries.fill("fran")
    countries.press("Enter")
    expect(row.locator(".tag-chip")).to_have_count(2)
    expect(page.locator("[data-preview]")).to_contain_text(MATCH_NOW)
    criteria = json.loads(page.locator("textarea[name=criteria]").input_value())
    assert criteria["conditions"][2] == {
        "match": "any",
        "conditions": [
            {"field": "lead_score", "operator": "between", "value": [10, 90]},
            {"field": "last_activity_at", "operator": "not_in_last_days", "value": 90},
            {"field": "country", "operator": "in", "value": ["DE", "FR"]},
        ],
    }
    shoot(page, "06-edit-nested-1280")

    # An incomplete row is refused by the server, which names its path next to the row.
    builder.get_by_role("button", name="+ Add condition").last.click()
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".criteria-errors")).to_contain_text("conditions[3].field")
    bad_row = builder.locator(".criteria-row.has-error")
    expect(bad_row).to_have_count(1)
    expect(bad_row.locator(".criteria-error")).to_contain_text("conditions[3].field")
    segment.refresh_from_db()
    assert len(segment.criteria["conditions"]) == 2  # nothing saved
    shoot(page, "07-edit-error-1280")
    bad_row.get_by_role("button", name="Remove this condition").click()
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(rf"/admin/crm-segments/{segment.pk}$"))
    segment.refresh_from_db()
    assert segment.criteria == criteria
    expect(page.locator(".criteria-summary").first).to_contain_text("Lead score between 10 and 90")

    # At phone width every page fits without sideways scrolling.
    phone = open_page(PHONE)
    log_in(phone, admin_user)
    for url, name in [
        ("/admin/crm-segments", "08-list-390"),
        (f"/admin/crm-segments/{segment.pk}", "09-segment-390"),
        (f"/admin/crm-segments/{segment.pk}/edit", "10-edit-390"),
        (f"/admin/crm-segments/{segment.pk}/delete", "11-delete-390"),
    ]:
        phone.goto(f"{live_server.url}{url}")
        if url.endswith("/edit"):
            expect(phone.locator("[data-preview]")).to_contain_text(MATCH_NOW)
        shoot(phone, name)
        assert fits_the_width(phone), (url, overflowing(phone))
    assert page.js_errors == [] and phone.js_errors == []


def test_a_refused_member_change_shows_its_reason_in_place(
    live_server, open_page, log_in, admin_user, people
):
    """htmx drops 4xx answers unless told: the members panel answers a refusal (400, 409)
    with its message, which must appear where the change was asked for."""
    from playwright.sync_api import expect

    segment = services.create_segment(
        name="Americans",
        criteria={"conditions": [{"field": "country", "operator": "equals", "value": "US"}]},
        user=admin_user,
    )
    page = open_page()
    log_in(page, admin_user)
    page.goto(f"{live_server.url}/admin/crm-segments/{segment.pk}")
    page.get_by_label("Add a contact").fill("Dan")
    add = page.get_by_role("button", name="Add Dan Dale")
    expect(add).to_be_visible()
    Contact.objects.filter(pk=people["dan"].pk).delete()  # gone meanwhile

    add.click()

    expect(page.locator("#members [role=alert]")).to_contain_text(
        "That contact does not exist (any more)."
    )
    assert page.js_errors == []
