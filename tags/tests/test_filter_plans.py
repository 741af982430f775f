"""No list filter plans a subplan probed per row over the link table (#15 H1).

`NOT IN (subquery)` is planned by PostgreSQL as a subplan; once the links outgrow
work_mem it is not hashed and is run again for every record: `?tagged=false` took over a
minute at 300,000 contacts. The plans are read with work_mem at its smallest, so a few
thousand links stand in for millions.
"""

import pytest

from django.db import connection

from contacts.filtersets import ContactFilterSet
from contacts.models import Contact
from tags import services
from tags.records import TAGGABLE_TYPES

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's planner; SQLite plans NOT IN well"
)

FILTERS = [
    {"tagged": "false"},
    {"tagged": "true"},
    {"tag": ["vip"]},
    {"tag": ["vip"], "tag_match": "none"},
    {"tag": ["vip", "smb"], "tag_match": "none"},
    {"tag": ["vip", "smb"], "tag_match": "any"},
    {"tag": ["vip", "smb"], "tag_match": "all"},
    {"tag": ["vip"], "ordering": "last_name"},
    {"tag": ["vip"], "tag_match": "none", "ordering": "-lead_score"},
]


@pytest.fixture
def many_links(db):
    Contact.objects.bulk_create(Contact(first_name=f"C{n}") for n in range(6000))
    vip, smb = services.create_tag("vip"), services.create_tag("smb")
    contacts, first = TAGGABLE_TYPES["contacts"], Contact.objects.order_by("pk")[0].pk
    services.bulk_tag(contacts, Contact.objects.filter(pk__lt=first + 5000), add=[vip])
    services.bulk_tag(contacts, Contact.objects.filter(pk__lt=first + 1000), add=[smb])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute(f"ANALYZE {contacts.link_model._meta.db_table}")
        cursor.execute("SET LOCAL work_mem = '64kB'")


@pytest.mark.parametrize(
    "params", FILTERS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items())
)
def test_no_list_filter_probes_a_subplan_per_row(many_links, params):
    filterset = ContactFilterSet(params, queryset=Contact.objects.all())
    assert filterset.is_valid(), filterset.errors

    plan = filterset.qs[:51].explain()

    per_row = [line for line in plan.splitlines() if "SubPlan" in line and "hashed" not in line]
    assert not per_row, plan
