"""Tag-filtered lists paged by cursor: stable under inserts, validated, counted by the counter."""

import datetime
import html as html_lib
import re

import pytest

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import Contact
from tags import services
from tags.models import ContactTag, Tag
from tags.records import TAGGABLE_TYPES
from testing.pages import table_rows

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
CONTACTS = TAGGABLE_TYPES["contacts"]
NEXT = re.compile(r'<a class="button" href="([^"]+)"[^>]*>Next ›</a>')


@pytest.fixture
def tagged(db):
    """130 contacts tagged `hot`, in groups of 10 sharing one created_at (ties for the key)."""
    tag = services.create_tag("hot")
    Contact.objects.bulk_create(
        Contact(first_name="P", last_name=f"S{n:03}", email=f"p{n}@x.example") for n in range(130)
    )
    base = timezone.now() - datetime.timedelta(days=1)
    for contact in Contact.objects.all():
        stamp = base + datetime.timedelta(minutes=contact.pk // 10)
        Contact.objects.filter(pk=contact.pk).update(created_at=stamp)
    services.bulk_tag(CONTACTS, Contact.objects.all(), add=[tag])
    return tag


def add_tagged(tag: Tag, n: int, prefix: str) -> None:
    """New tagged contacts, newest of all, with last names sorting anywhere."""
    for i in range(n):
        contact = Contact.objects.create(first_name="N", last_name=f"{prefix}{i:03}")
        services.attach_tag(contact, tag)


def emails_on(html: str) -> list[str]:
    return re.findall(r"[\w.]+@x\.example", html)


def walk_pages(client, url: str, between) -> list[str]:
    html = client.get(url, **HTMX).content.decode()
    seen = emails_on(html)
    between()
    path = url.split("?")[0]
    while match := NEXT.search(html):
        html = client.get(path + html_lib.unescape(match.group(1)), **HTMX).content.decode()
        seen += emails_on(html)
    return seen


@pytest.mark.parametrize("ordering", ["", "&ordering=-created_at", "&ordering=last_name"])
def test_pages_neither_repeat_nor_skip_rows_when_others_are_inserted(
    browser_client, tagged, ordering
):
    before = set(Contact.objects.exclude(email="").values_list("email", flat=True))

    seen = walk_pages(
        browser_client, f"/admin/contacts?tag=hot{ordering}", lambda: add_tagged(tagged, 40, "S05")
    )

    original = [email for email in seen if email in before]
    assert len(original) == len(set(original))
    assert set(original) == before


def test_api_pages_neither_repeat_nor_skip_rows_when_others_are_inserted(api, tagged):
    before = set(Contact.objects.values_list("email", flat=True))
    body = api.get("/api/crm/contacts", {"tag": "hot", "page_size": 20}).json()
    seen = [row["email"] for row in body["results"]]
    add_tagged(tagged, 30, "A")
    while body["next"]:
        assert "cursor=" in body["next"]
        body = api.get(body["next"]).json()
        seen += [row["email"] for row in body["results"]]
    original = [email for email in seen if email in before]
    assert len(original) == len(set(original)) == len(before)


def test_previous_links_walk_back_over_the_same_rows(api, tagged):
    pages = [api.get("/api/crm/contacts", {"tag": "hot", "page_size": 10}).json()]
    while pages[-1]["next"]:
        pages.append(api.get(pages[-1]["next"]).json())
    back = [pages[-1]]
    while back[-1]["previous"]:
        back.append(api.get(back[-1]["previous"]).json())
    forward = [[row["id"] for row in page["results"]] for page in pages]
    backward = [[row["id"] for row in page["results"]] for page in reversed(back)]
    assert forward == backward


@pytest.mark.parametrize("cursor", ["nonsense", "e30:bad:sig", "%00", "x" * 5000])
def test_a_bad_cursor_is_a_400_that_says_why(api, browser_client, tagged, cursor):
    answer = api.get("/api/crm/contacts", {"tag": "hot", "cursor": cursor})
    assert answer.status_code == 400
    assert "cursor" in answer.json()
    page = browser_client.get("/admin/contacts", {"tag": "hot", "cursor": cursor}, **HTMX)
    assert page.status_code == 400
    assert "Invalid cursor" in page.content.decode()


def test_a_cursor_of_another_order_is_refused(api, tagged):
    first = api.get("/api/crm/contacts", {"tag": "hot", "page_size": 5}).json()
    cursor = re.search(r"cursor=([^&]+)", first["next"]).group(1)
    answer = api.get(f"/api/crm/contacts?tag=hot&ordering=email&cursor={cursor}")
    assert answer.status_code == 400
    assert "another sort order" in answer.json()["cursor"][0]


def test_first_pages_keep_their_numbers_and_sort_links_drop_the_cursor(browser_client, tagged):
    html = browser_client.get("/admin/contacts?tag=hot", **HTMX).content.decode()
    assert 'href="?tag=hot&amp;page=2"' in html
    assert 'href="?tag=hot&amp;page=3"' in html
    next_url = html_lib.unescape(NEXT.search(html).group(1))
    assert "cursor=" in next_url and "page=2" in next_url
    second = browser_client.get(f"/admin/contacts{next_url}", **HTMX).content.decode()
    assert "Showing 51–100 of 130 contacts" in second
    assert 'hx-push-url="true"' in second
    sort_links = re.findall(r'href="([^"]*ordering=[^"]*)"', second)
    assert sort_links
    assert not [link for link in sort_links if "cursor=" in link]


@pytest.mark.parametrize(
    "query", ["tag=hot", "tag=hot&ordering=last_name", "tag=hot&first_name=P", "tag=hot&search=p"]
)
def test_numbered_pages_hold_the_rows_an_offset_would(browser_client, tagged, query):
    """A page past the first starts at its first row's keys (core.paging._rows_at): the
    same rows, in the same order, as slicing the whole list."""
    whole = walk_pages(browser_client, f"/admin/contacts?{query}", lambda: None)
    pages = [
        emails_on(browser_client.get(f"/admin/contacts?{query}&page={n}", **HTMX).content.decode())
        for n in (1, 2, 3, 4)
    ]
    assert pages == [whole[:50], whole[50:100], whole[100:], []]
    api_page = browser_client.get(f"/api/crm/contacts?{query}&page=3&page_size=20").json()
    assert [row["email"] for row in api_page["results"]] == whole[40:60]


def test_a_deep_page_of_one_tag_skips_rows_in_the_link_index_alone(browser_client, tagged):
    """The OFFSET walks the tag's ordered links, never joining contact rows it skips."""
    with CaptureQueriesContext(connection) as queries:
        html = browser_client.get("/admin/contacts?tag=hot&page=3", **HTMX).content.decode()
    assert len(table_rows(html)) == 30
    offsets = [q["sql"] for q in queries.captured_queries if "OFFSET" in q["sql"]]
    assert len(offsets) == 1
    assert "contacts_contact" not in offsets[0]
    assert ContactTag._meta.db_table in offsets[0]


def test_one_tag_is_counted_by_its_counter(browser_client, tagged):
    Tag.objects.filter(pk=tagged.pk).update(contacts_count=4321)  # proves which count is shown
    html = browser_client.get("/admin/contacts?tag=hot", **HTMX).content.decode()
    assert "of 4,321 contacts" in html
    assert len(table_rows(html)) == 50


def test_two_tags_all_of_page_in_list_order(browser_client, tagged):
    other = services.create_tag("cold")
    evens = Contact.objects.filter(last_name__regex=r"[02468]$")
    services.bulk_tag(CONTACTS, evens, add=[other])
    want = list(evens.order_by("-created_at", "-pk").values_list("email", flat=True))
    seen = walk_pages(browser_client, "/admin/contacts?tag=hot&tag=cold", lambda: None)
    assert seen == want


def plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A test table is tiny: forbid what a real one makes too costly, so the plan shows
            # whether the index can give the order (else a Sort remains, whatever it costs).
            for setting in ("seqscan", "bitmapscan", "sort", "hashjoin"):
                cursor.execute(f"SET LOCAL enable_{setting} = off")
            cursor.execute(f"EXPLAIN {sql}", params)
        else:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row) for row in cursor.fetchall())


@pytest.mark.parametrize("tags", [["hot"], ["hot", "cold"]])
def test_tag_filters_in_list_order_read_the_ordered_link_index(tagged, tags):
    from contacts.filtersets import ContactFilterSet

    cold = services.create_tag("cold")
    services.bulk_tag(CONTACTS, Contact.objects.filter(pk__gt=20), add=[cold])
    for deep in (False, True):
        query = {"tag": tags}
        filterset = ContactFilterSet(query, queryset=Contact.objects.all())
        qs = filterset.qs
        if deep:
            last = qs[60]
            qs = qs.filter(tag_list_created__lte=last.created_at)
        sql, params = qs[:51].query.sql_with_params()
        text = plan(sql, params)
        assert "contacttag_tag_order_idx" in text, text
        assert "TEMP B-TREE" not in text and "Sort" not in text, text


def test_links_carry_their_record_s_created_at_whoever_writes_them(tagged):
    target = services.create_tag("target")
    contact = Contact.objects.first()
    services.attach_tag(contact, target)
    services.merge_tags(tagged, target)
    created = dict(Contact.objects.values_list("pk", "created_at"))
    links = list(ContactTag.objects.values_list("record_id", "record_created_at"))
    assert len(links) == 130
    assert all(created[pk] == at for pk, at in links)
