"""A big import leaves PostgreSQL's planner informed: the foreign key checks that Django
defers to the commit use the index, not a scan of the whole table per new row.

The trap: a connection that checked foreign keys while the contacts table was tiny
keeps a plan that scans it. An import of 100,000 contacts then checks each new tag
link with a scan of 100,000 rows, and the commit takes minutes (seen in CI). The
import re-analyzes the tables it filled (core.planner), which makes kept plans
re-plan. Counted, not timed: the transaction's sequential scans of the contacts table.
"""

import pytest

from django.db import connection

from contacts.models import Contact
from tags.models import ContactTag
from tags.services import create_tag
from transfers import services
from transfers.services import import_csv

ROWS = 2_000


def _csv(prefix: str) -> bytes:
    lines = ["first_name,email,tags"]
    lines += [f"{prefix}{i},{prefix}{i}@planner.example,planner" for i in range(ROWS)]
    return ("\n".join(lines) + "\n").encode()


def _contact_scans_while_checking_foreign_keys() -> int:
    """Sequential scans of the contacts table made by running the deferred checks now."""
    with connection.cursor() as cursor:

        def scans() -> int:
            cursor.execute(
                "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = %s",
                [Contact._meta.db_table],
            )
            return cursor.fetchone()[0]

        before = scans()
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        return scans() - before


@pytest.fixture
def planner_that_thinks_contacts_is_tiny(db, admin_user):
    """Foreign key checks planned, and kept, while the contacts table held one row."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's plan cache; SQLite checks keys by index")
    tag = create_tag("seed", user=admin_user)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Contact._meta.db_table} CASCADE")  # rolled back after
        first = Contact.objects.create(first_name="First")
        cursor.execute(f"ANALYZE {Contact._meta.db_table}")
        for _ in range(8):  # past the plan cache's five custom plans: a generic plan is kept
            link = ContactTag.objects.create(record=first, tag=tag)
            _contact_scans_while_checking_foreign_keys()
            link.delete()


def test_without_fresh_statistics_every_new_link_scans_the_contacts_table(
    planner_that_thinks_contacts_is_tiny, admin_user, monkeypatch
):
    # The control: the trap is really set (otherwise the next test would prove nothing).
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_constraint WHERE contype = 'f' AND conrelid = %s::regclass",
            [ContactTag._meta.db_table],
        )
        if cursor.fetchone() is None:
            pytest.skip("tag links have no foreign key since #14: no check left to plan badly")
    monkeypatch.setattr(services, "STATISTICS_REFRESH_AFTER", 10 * ROWS)
    plan = import_csv("contacts", _csv("before"), user=admin_user, dry_run=False)

    assert plan.summary() == f"{ROWS} new, 0 updated, 0 skipped, 0 errors"
    assert _contact_scans_while_checking_foreign_keys() >= ROWS


def test_a_big_import_refreshes_the_statistics_so_checks_use_the_index(
    planner_that_thinks_contacts_is_tiny, admin_user, monkeypatch
):
    monkeypatch.setattr(services, "STATISTICS_REFRESH_AFTER", ROWS)
    plan = import_csv("contacts", _csv("after"), user=admin_user, dry_run=False)

    assert plan.summary() == f"{ROWS} new, 0 updated, 0 skipped, 0 errors"
    assert _contact_scans_while_checking_foreign_keys() < 10
    assert ContactTag.objects.filter(tag__name="planner").count() == ROWS
