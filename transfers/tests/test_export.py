import csv
import io

import pytest

from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead
from tags.models import ContactTag, Tag
from tags.services import attach_tag, create_tag
from transfers.services import import_csv


def _rows(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def tagged_contacts(admin_user):
    saas, hot = create_tag("saas"), create_tag("Hot lead")
    ada = Contact.objects.create(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@x.example",
        country="GB",
        company='=HYPERLINK("http://evil")',
        lead_score=80,
        owner=admin_user,
        lifecycle_stage="customer",
        source="event",
        city="London",
        job_title="Countess",
        phone="+44 20 0000",
    )
    bob = Contact.objects.create(first_name="Bob", email="bob@x.example", country="US")
    Contact.objects.create(first_name="Cy", email="cy@x.example", country="US")
    attach_tag(ada, saas)
    attach_tag(ada, hot)
    attach_tag(bob, saas)
    return ada, bob


def test_contacts_export_has_list_columns_tags_and_neutralised_cells(
    browser_client, tagged_contacts
):
    response = browser_client.get("/admin/contacts/export.csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = _rows(response)
    header = rows[0]
    assert header[:4] == ["id", "first_name", "last_name", "email"]
    assert "tags" in header and "owner" in header
    ada = dict(zip(header, next(r for r in rows if r[1] == "Ada"), strict=True))
    assert ada["tags"] == "Hot lead; saas"
    assert ada["company"].startswith("'=HYPERLINK")
    assert ada["phone"] == "'+44 20 0000"
    assert ada["owner"] == "admin"
    assert len(rows) == 4


def test_export_follows_the_list_filter_search_and_tags(browser_client, tagged_contacts):
    saas = Tag.objects.get(name="saas")

    by_tag = _rows(browser_client.get(f"/admin/contacts/export.csv?tag={saas.slug}"))
    by_search = _rows(browser_client.get("/admin/contacts/export.csv?search=bob"))
    by_country = _rows(browser_client.get("/admin/contacts/export.csv?country=US&tag=saas"))

    assert sorted(r[1] for r in by_tag[1:]) == ["Ada", "Bob"]
    assert [r[1] for r in by_search[1:]] == ["Bob"]
    assert [r[1] for r in by_country[1:]] == ["Bob"]


def test_export_with_an_invalid_filter_is_a_400(browser_client, db):
    assert browser_client.get("/admin/contacts/export.csv?country=ZZZ").status_code == 400


@pytest.mark.parametrize("record_type", ["contacts", "leads", "deals"])
def test_export_needs_the_view_permission(client, nobody, viewer, record_type):
    client.force_login(nobody)
    assert client.get(f"/admin/{record_type}/export.csv").status_code == 403
    client.force_login(viewer)
    assert client.get(f"/admin/{record_type}/export.csv").status_code == 200


def test_leads_deals_and_tags_export(browser_client, admin_user):
    tag = create_tag("q4")
    lead = Lead.objects.create(name="Lead A", email="l@x.example", owner=admin_user)
    deal = Deal.objects.create(title="-1 deal", value=10, currency="EUR")
    attach_tag(lead, tag)
    attach_tag(deal, tag)

    leads = _rows(browser_client.get("/admin/leads/export.csv?tag=q4"))
    deals = _rows(browser_client.get("/admin/deals/export.csv"))
    tags = _rows(browser_client.get("/admin/crm/tags/export.csv?search=q"))

    assert leads[1][1:3] == ["Lead A", "l@x.example"] and "q4" in leads[1]
    assert deals[1][1] == "'-1 deal" and "q4" in deals[1]
    assert tags == [
        ["name", "slug", "color", "description", "contacts", "leads", "deals"],
        ["q4", "q4", tag.color, "", "0", "1", "1"],
    ]


def test_list_pages_link_export(browser_client, contact):
    create_tag("one")
    Lead.objects.create(name="L")
    Deal.objects.create(title="D")
    for path in ["/admin/contacts", "/admin/leads", "/admin/deals", "/admin/crm/tags"]:
        assert 'id="export-csv"' in browser_client.get(path).content.decode()


def test_round_trip_export_then_import_into_an_empty_database(
    browser_client, tagged_contacts, admin_user
):
    # given: an export of every contact, then an empty database
    exported = b"".join(browser_client.get("/admin/contacts/export.csv").streaming_content)
    fields = [
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "job_title",
        "country",
        "city",
        "lifecycle_stage",
        "lead_score",
        "source",
        "owner_id",
    ]
    before = sorted(Contact.objects.values_list(*fields))
    tags_before = sorted(ContactTag.objects.values_list("record__email", "tag__name"))
    Contact.objects.all().delete()
    Tag.objects.all().delete()

    # when
    plan = import_csv("contacts", exported, user=admin_user, dry_run=False)

    # then: the same contacts and tags (neutralised cells lose their quote again)
    assert plan.summary() == "3 new, 0 updated, 0 skipped, 0 errors"
    assert sorted(Contact.objects.values_list(*fields)) == before
    assert sorted(ContactTag.objects.values_list("record__email", "tag__name")) == tags_before
    assert dict(Tag.objects.values_list("name", "contacts_count")) == {"saas": 2, "Hot lead": 1}


def test_export_queries_do_not_grow_with_rows(
    browser_client, admin_user, django_assert_max_num_queries
):
    tag = create_tag("bulk")
    for i in range(30):
        attach_tag(Contact.objects.create(email=f"p{i}@x.example", owner=admin_user), tag)

    with django_assert_max_num_queries(8):
        rows = _rows(browser_client.get("/admin/contacts/export.csv?tag=bulk"))

    assert len(rows) == 31 and all(row[13] == "bulk" for row in rows[1:])
