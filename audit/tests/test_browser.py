"""The audit log and a segment's History in a real browser (Playwright, Debian's Chromium),
at desktop and phone widths. COHORT_SCREENSHOTS=/some/dir keeps screenshots of them."""

import pytest

from audit.tests.conftest import COUNTRY_GB
from segments import services as segment_services
from segments.sync import sync_segment
from tags import services as tag_services
from testing.browser import PHONE

pytestmark = [
    pytest.mark.browser,
    # serialized_rollback: the flush after a live-server test must not lose the seeded roles.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def fits_the_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_administrator_reads_the_log_and_a_segments_history(
    live_server, open_page, log_in, shoot, admin_user, manager, contact
):
    # given a tag and a segment with some history
    tag = tag_services.create_tag("Enterprise", color="#2563eb", user=manager)
    tag_services.update_tag(tag, name="Key account", color="#16a34a", user=manager)
    segment = segment_services.create_segment(name="UK contacts", criteria=COUNTRY_GB, user=manager)
    sync_segment(segment, admin_user)
    segment_services.remove_member(segment, contact, admin_user)

    page = open_page()
    log_in(page, admin_user)
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url(f"{live_server.url}/admin/audit")
    shoot(page, "audit-log")
    rows = page.locator(".audit-table tbody tr")
    assert rows.count() == 5
    assert rows.first.inner_text().split("\t")[1:4] == [
        "admin",
        "Member removed by hand",
        "Segment UK contacts",
    ]

    # when the admin filters by action, the table follows without a Filter click
    page.select_option("select[name=action]", "tag.updated")
    page.wait_for_url("**action=tag.updated**")
    page.wait_for_function("document.querySelectorAll('.audit-table tbody tr').length === 1")
    assert "name “Enterprise” → “Key account”" in rows.first.inner_text()

    # and follows the segment link to its page, whose History links back to the log
    page.goto(f"{live_server.url}/admin/crm-segments/{segment.pk}")
    history = page.locator("#history")
    history.scroll_into_view_if_needed()
    shoot(page, "segment-history")
    assert history.locator("tbody tr").count() == 3
    history.get_by_role("link", name="Full audit log").click()
    page.wait_for_url(f"**target_id={segment.pk}**")
    assert page.locator(".audit-table tbody tr").count() == 3
    assert page.js_errors == []

    phone = open_page(PHONE)
    log_in(phone, admin_user)
    phone.goto(f"{live_server.url}/admin/audit")
    shoot(phone, "audit-log-phone")
    assert fits_the_width(phone)
