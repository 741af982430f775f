"""/admin/audit and the History sections of the segment and tag pages."""

import re

import pytest

from accounts.tokens import issue_token
from segments import services as segment_services
from tags import services as tag_services
from testing.pages import queries_for, table_rows

LOG = "/admin/audit"


@pytest.fixture
def signed_in(request, client, db):
    """`signed_in("rep")`: the test client, logged in as that fixture's user (or anonymous)."""

    def login(who: str):
        if who != "anonymous":
            client.force_login(request.getfixturevalue(who))
        return client

    return login


def cells(row: str) -> list[str]:
    """A table row's cells as text, tags stripped and spaces collapsed."""
    return [
        " ".join(re.sub(r"<[^>]+>", " ", cell).split())
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


# --- who may see it ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [LOG, f"{LOG}/"])
@pytest.mark.parametrize(
    ("who", "status"),
    [("admin_user", 200), ("manager", 403), ("rep", 403), ("viewer", 403), ("nobody", 403)],
)
def test_only_administrators_see_the_audit_log(signed_in, path, who, status):
    assert signed_in(who).get(path).status_code == status


def test_anonymous_visitors_are_sent_to_log_in(client, db):
    response = client.get(LOG)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login")


@pytest.mark.parametrize(("who", "shown"), [("admin_user", True), ("manager", False)])
def test_the_navigation_links_the_log_for_those_who_may_read_it(signed_in, who, shown):
    page = signed_in(who).get("/admin/").content.decode()

    assert ('href="/admin/audit"' in page) is shown


# --- what it shows ----------------------------------------------------------------------------


def test_the_log_says_when_who_what_and_links_live_targets(signed_in, admin_user, manager):
    # given a tag edited by the manager, and a segment created then deleted by the admin
    tag = tag_services.create_tag("Enterprise", color="#2563eb", user=manager)
    tag_services.update_tag(tag, name="Key account", user=manager)
    segment = segment_services.create_segment(name="Gone", user=admin_user)
    segment_services.delete_segment(segment, admin_user)

    html = signed_in("admin_user").get(LOG).content.decode()

    rows = [cells(row) for row in table_rows(html)]
    assert [row[1:] for row in rows] == [
        ["admin", "Segment deleted", "Segment Gone", "Had 0 members"],
        ["admin", "Segment created", "Segment Gone", "0 top-level conditions"],
        ["manager", "Tag edited", "Tag Key account", "name “Enterprise” → “Key account”"],
        ["manager", "Tag created", "Tag Enterprise", "Colour #2563eb"],
    ]
    assert f'href="/admin/crm/tags/{tag.pk}/edit"' in html
    assert f'href="/admin/crm-segments/{segment.pk}"' not in html  # deleted: not linked


def test_changes_by_the_system_say_so(signed_in, manager):
    issue_token(manager, "cron", actor=None)

    row = cells(table_rows(signed_in("admin_user").get(LOG).content.decode())[0])

    assert row[1:4] == ["System", "API token created", "API token cron"]
    assert "of manager" in row[4]


def test_user_text_is_escaped(signed_in, manager):
    tag_services.create_tag("<script>alert(1)</script>", user=manager)

    html = signed_in("admin_user").get(LOG).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("action=tag.created", ["Tag created"]),
        ("target_type=segment", ["Segment created"]),
        ("actor={manager}", ["Tag edited", "Tag created"]),
        ("", ["Segment created", "Tag edited", "Tag created"]),
    ],
)
def test_filters_narrow_the_log(signed_in, admin_user, manager, query, expected):
    tag = tag_services.create_tag("Enterprise", user=manager)
    tag_services.update_tag(tag, color="#16a34a", user=manager)
    segment_services.create_segment(name="All", user=admin_user)

    html = signed_in("admin_user").get(f"{LOG}?{query.format(manager=manager.pk)}").content
    actions = [cells(row)[2] for row in table_rows(html.decode())]

    assert actions == expected


def test_a_bad_filter_says_what_to_fix(signed_in):
    response = signed_in("admin_user").get(f"{LOG}?action=tag.exploded&since=yesterday")

    html = response.content.decode()
    assert response.status_code == 200
    assert "Select a valid choice" in html
    assert "Enter a valid date/time" in html
    assert table_rows(html) == []


def test_the_log_narrowed_to_one_target_says_so(signed_in, manager):
    tag = tag_services.create_tag("Enterprise", user=manager)
    tag_services.create_tag("Other", user=manager)

    html = signed_in("admin_user").get(f"{LOG}?target_type=tag&target_id={tag.pk}").content
    html = html.decode()

    assert [cells(row)[3] for row in table_rows(html)] == ["Tag Enterprise"]
    assert "Showing the history of tag “Enterprise” only" in html


def test_the_log_is_paged(signed_in, manager, settings):
    for n in range(51):
        tag_services.create_tag(f"T{n}", user=manager)
    client = signed_in("admin_user")

    first = client.get(LOG).content.decode()
    second = client.get(f"{LOG}?page=2").content.decode()

    assert len(table_rows(first)) == 50
    assert [cells(row)[3] for row in table_rows(second)] == ["Tag T0"]
    assert "Next ›" in first


def test_htmx_gets_only_the_results(signed_in, manager):
    tag_services.create_tag("Enterprise", user=manager)

    html = signed_in("admin_user").get(LOG, HTTP_HX_REQUEST="true").content.decode()

    assert "<form" not in html
    assert len(table_rows(html)) == 1


def test_the_log_takes_the_same_queries_for_few_rows_and_many(signed_in, admin_user, manager):
    client = signed_in("admin_user")

    def add_entries():
        tag = tag_services.create_tag(f"Tag {tag_services.Tag.objects.count()}", user=manager)
        segment = segment_services.create_segment(name=f"Seg {tag.pk}", user=admin_user)
        issue_token(manager, f"tok {tag.pk}", actor=manager)
        segment_services.delete_segment(segment, admin_user)

    add_entries()
    few = queries_for(client, LOG)
    for _ in range(10):
        add_entries()
    many = queries_for(client, LOG)

    assert many == few


# --- History sections ------------------------------------------------------------------------


def history_rows(html: str) -> list[list[str]]:
    section = html[html.index('id="history"') :]
    return [cells(row) for row in table_rows(section)]


def test_the_segment_page_shows_its_history(signed_in, admin_user, manager, contact):
    segment = segment_services.create_segment(name="UK", user=manager)
    segment_services.add_member(segment, contact, admin_user)

    html = signed_in("viewer").get(f"/admin/crm-segments/{segment.pk}").content.decode()

    assert [row[1:] for row in history_rows(html)] == [
        ["admin", "Member added by hand", "Ada Lovelace"],
        ["manager", "Segment created", "0 top-level conditions"],
    ]
    assert "Full audit log" not in html  # a viewer may not read the log itself


def test_history_links_administrators_to_the_full_log(signed_in, manager):
    segment = segment_services.create_segment(name="UK", user=manager)

    html = signed_in("admin_user").get(f"/admin/crm-segments/{segment.pk}").content.decode()

    assert f'href="/admin/audit?target_type=segment&amp;target_id={segment.pk}"' in html


def test_history_shows_the_latest_ten(signed_in, manager):
    tag = tag_services.create_tag("T", user=manager)
    for n in range(11):
        tag_services.update_tag(tag, description=f"v{n}", user=manager)

    html = signed_in("manager").get(f"/admin/crm/tags/{tag.pk}/edit").content.decode()

    rows = history_rows(html)
    assert len(rows) == 10
    assert rows[0][2] == "Tag edited"
    assert rows[0][3] == "description changed"


def test_the_tag_page_shows_what_was_merged_into_it(signed_in, manager):
    tag = tag_services.create_tag("Enterprise", user=manager)
    source = tag_services.create_tag("Enterprize", user=manager)
    tag_services.merge_tags(source, tag, user=manager)

    html = signed_in("manager").get(f"/admin/crm/tags/{tag.pk}/edit").content.decode()

    assert [row[2] for row in history_rows(html)] == [
        "Tag merged",
        "Tag created",
    ]
    assert "“Enterprize” merged into “Enterprise”" in html


def test_a_new_tag_page_has_no_history(signed_in):
    html = signed_in("manager").get("/admin/crm/tags/new").content.decode()

    assert 'id="history"' not in html
