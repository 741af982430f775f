"""M6 in a real browser (Playwright driving Debian's Chromium): the API docs work with every
request to another origin blocked, and the main pages break no rule of the
Content-Security-Policy (Chromium reports each refusal on the console).
"""

from urllib.parse import urlsplit

import pytest

from contacts.models import Contact
from segments.models import Segment
from segments.sync import sync_segment
from tags.models import ContactTag, Tag

pytestmark = [
    pytest.mark.browser,
    # serialized_rollback: the flush after a live-server test must not lose the seeded roles.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def watched(page, live_server) -> dict:
    """Block every request that would leave the server; record those and CSP refusals."""
    seen = {"outside": [], "csp": []}
    local = urlsplit(live_server.url).netloc

    def route(route):
        url = route.request.url
        if urlsplit(url).scheme in {"http", "https"} and urlsplit(url).netloc != local:
            seen["outside"].append(url)
            return route.abort()
        return route.continue_()

    page.context.route("**/*", route)
    page.on(
        "console",
        lambda message: (
            seen["csp"].append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    return seen


def test_the_api_docs_list_the_operations_with_nothing_from_outside(
    live_server, open_page, log_in, admin_user
):
    page = open_page()
    seen = watched(page, live_server)
    log_in(page, admin_user)

    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".opblock-summary").first.wait_for()

    assert page.locator(".opblock-summary").count() > 20
    assert page.get_by_text("/api/crm/contacts/").first.is_visible()
    # The page is Cohort's own: its header and a way back.
    assert page.get_by_role("link", name="Back to Cohort").is_visible()
    assert seen == {"outside": [], "csp": []}
    assert page.js_errors == []


def test_the_main_pages_break_no_csp_rule(live_server, open_page, log_in, admin_user):
    tag = Tag.objects.create(name="vip", slug="vip", color="#9333ea")
    contact = Contact.objects.create(first_name="Ada", last_name="Lovelace", country="US")
    ContactTag.objects.create(record=contact, tag=tag)
    segment = Segment.objects.create(
        name="Americans",
        criteria={
            "match": "all",
            "conditions": [{"field": "tags", "operator": "has_any", "value": [tag.pk]}],
        },
    )
    for _ in range(2):  # the membership chart draws a dot per sync
        sync_segment(segment, admin_user)
    page = open_page()
    seen = watched(page, live_server)
    log_in(page, admin_user)

    for path in (
        "/admin",
        "/admin/contacts",
        f"/admin/contacts/{contact.pk}",
        "/admin/crm/tags",
        f"/admin/crm/tags/{tag.pk}/edit",
        "/admin/crm-segments",
        f"/admin/crm-segments/{segment.pk}",
        "/admin/crm-segments/new",
        "/admin/jobs",
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response.ok, path
        assert "script-src 'self'" in response.headers.get("content-security-policy", ""), path
        page.wait_for_load_state("networkidle")
        assert seen == {"outside": [], "csp": []}, path

    # The tag's colour, which used to be a style="" attribute, is still applied.
    page.goto(f"{live_server.url}/admin/contacts")
    chip = page.locator(".tag-chip").first
    assert chip.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(147, 51, 234)"
    assert page.js_errors == []
