"""The benchmark's dataset: built by Cohort's own seed, and its raw-SQL lower bound.

`seed_demo` (the code behind `manage.py seed_demo`) builds N contacts with 10 %
as many leads, 30 % as many deals, two activities each and, with 200 tags,
about three tag links per contact. The lower bound writes the same rows again
with one `INSERT … SELECT` per table into an empty copy of it (same columns and
indexes, no Python in between): what the database itself needs to store them.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction

from accounts.models import User
from accounts.roles import ADMINISTRATOR
from activities.models import Activity
from contacts.models import Contact
from deals.models import Deal
from demo.load import seed_demo
from leads.models import Lead
from tags.models import ContactTag, DealTag, LeadTag

BENCH_SEED = 2026
BENCH_TAGS = 200
BENCH_USERNAME = "bench-admin"
SCRATCH_PREFIX = "bench_scratch_"
DATASET_MODELS = (Contact, Lead, Deal, Activity, ContactTag, LeadTag, DealTag)


@dataclass
class BuildRecord:
    """How the dataset was built; kept beside it so a reused dataset still reports it."""

    contacts: int
    rows: int
    seconds: float
    summary: str


def marker_path(database_name: str) -> Path:
    from bench.database import VAR_DIR

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return VAR_DIR / f"{Path(database_name).name}.build.json"


def existing_build(database_name: str, contacts: int) -> BuildRecord | None:
    """The earlier build of this dataset, if it is complete and of the right size."""
    path = marker_path(database_name)
    if not path.exists():
        return None
    record = BuildRecord(**json.loads(path.read_text()))
    if record.contacts != contacts or Contact.objects.count() != contacts:
        return None
    return record


def migrate() -> None:
    call_command("migrate", interactive=False, verbosity=0)


def build(database_name: str, contacts: int) -> BuildRecord:
    """Seed `contacts` contacts on the empty, migrated database; returns rows and time."""
    started = time.perf_counter()
    result = seed_demo(contacts=contacts, seed=BENCH_SEED, tags=BENCH_TAGS)
    seconds = time.perf_counter() - started
    rows = result.contacts + result.leads + result.deals + result.activities + result.tag_links
    record = BuildRecord(contacts=contacts, rows=rows, seconds=seconds, summary=result.summary())
    _analyze()
    marker_path(database_name).write_text(json.dumps(asdict(record)))
    return record


def _analyze() -> None:
    """Fresh planner statistics after the bulk load, as autovacuum would soon make."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def bench_user() -> User:
    user, created = User.objects.get_or_create(
        username=BENCH_USERNAME, defaults={"email": "bench@cohort-bench.example"}
    )
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=ADMINISTRATOR))
    return user


# --- the lower bound ------------------------------------------------------------------------


def _scratch_ddl(table: str) -> list[str]:
    """Statements creating an empty copy of `table` with its indexes (no foreign keys)."""
    scratch = SCRATCH_PREFIX + table
    if connection.vendor == "postgresql":
        return [f"CREATE TABLE {scratch} (LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES)"]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL",
            [table],
        )
        rows = cursor.fetchall()
    statements = []
    for kind, name, sql in sorted(rows, key=lambda row: row[0] != "table"):
        sql = re.sub(
            rf'"{re.escape(table)}"', f'"{scratch}"', sql, count=1 if kind == "table" else 0
        )
        if kind == "table":
            sql = re.sub(r"REFERENCES \"\w+\" \(\"\w+\"\) DEFERRABLE INITIALLY DEFERRED", "", sql)
        else:
            sql = sql.replace(f'"{name}"', f'"{SCRATCH_PREFIX}{name}"', 1)
        statements.append(sql)
    return statements


def _drop_scratch(cursor, table: str) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH_PREFIX}{table}")


def raw_insert_seconds() -> tuple[int, float]:
    """Rows of the dataset's tables and the time to write them again with raw SQL."""
    rows = 0
    seconds = 0.0
    tables = [model._meta.db_table for model in DATASET_MODELS]
    with connection.cursor() as cursor:
        for table in tables:
            _drop_scratch(cursor, table)
            for statement in _scratch_ddl(table):
                cursor.execute(statement)
        for table in tables:
            started = time.perf_counter()
            with transaction.atomic(), connection.cursor() as timed:
                timed.execute(f"INSERT INTO {SCRATCH_PREFIX}{table} SELECT * FROM {table}")
                rows += timed.rowcount
            seconds += time.perf_counter() - started
        for table in tables:
            _drop_scratch(cursor, table)
    return rows, seconds
