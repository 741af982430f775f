"""The benchmark's dataset: built by Cohort's own seed, and its physical limit.

`seed_demo` (the code behind `manage.py seed_demo`) builds N contacts with 10 %
as many leads, 30 % as many deals, two activities each and, with 200 tags,
about three tag links per contact, then the build ends with VACUUM (ANALYZE).
The physical limit writes the same rows again with one `INSERT … SELECT` per
table into a plain copy with only its primary key (no other index, no foreign
key, no Python in between): what the database itself needs to store them.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction

from accounts.models import User
from accounts.roles import ADMINISTRATOR
from activities.models import Activity
from bench.report import Measured, Meter
from contacts.models import Contact
from deals.models import Deal
from demo.load import seed_demo, vacuum_analyze
from leads.models import Lead
from tags.records import TAGGABLE_TYPES

BENCH_SEED = 2026
BENCH_TAGS = 200
BENCH_USERNAME = "bench-admin"
SCRATCH_PREFIX = "bench_scratch_"
DATASET_MODELS = (
    Contact,
    Lead,
    Deal,
    Activity,
    *(TAGGABLE_TYPES[key].link_model for key in ("contacts", "leads", "deals")),
)


@dataclass
class BuildRecord:
    """How the dataset was built; kept beside it so a reused dataset still reports it."""

    contacts: int
    rows: int
    seconds: float
    summary: str
    # Seconds per phase (seed_demo's, then "vacuum"), and the build's counters.
    phases: dict[str, float] = field(default_factory=dict)
    measured: dict = field(default_factory=dict)
    deferred_indexes: bool = False


def marker_path(database_name: str) -> Path:
    from bench.database import VAR_DIR

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return VAR_DIR / f"{Path(database_name).name}.build.json"


def existing_build(database_name: str, contacts: int) -> BuildRecord | None:
    """The earlier build of this dataset, if it is complete and of the right size."""
    path = marker_path(database_name)
    if not path.exists():
        return None
    try:
        record = BuildRecord(**json.loads(path.read_text()))
    except TypeError:  # written by an older version of the harness
        return None
    if record.contacts != contacts or Contact.objects.count() != contacts:
        return None
    return record


def migrate() -> None:
    call_command("migrate", interactive=False, verbosity=0)


def build(database_name: str, contacts: int) -> BuildRecord:
    """Seed `contacts` contacts on the empty, migrated database, then VACUUM (ANALYZE);
    returns rows, time per phase, CPU and WAL."""
    meter = Meter()
    meter.start()
    result = seed_demo(contacts=contacts, seed=BENCH_SEED, tags=BENCH_TAGS)
    seeded = time.perf_counter()
    # Fresh statistics and visibility map, as autovacuum would make (it may be off).
    vacuum_analyze()
    phases = {name: round(seconds, 3) for name, seconds in result.timings.items()}
    phases["vacuum"] = round(time.perf_counter() - seeded, 3)
    sample = meter.stop()
    phases["commit_and_rest"] = round(sample.wall_s - sum(phases.values()), 3)
    rows = result.contacts + result.leads + result.deals + result.activities + result.tag_links
    record = BuildRecord(
        contacts=contacts,
        rows=rows,
        seconds=sample.wall_s,
        summary=result.summary(),
        phases=phases,
        measured=Measured.of([sample]).as_json(),
        deferred_indexes=result.deferred_indexes,
    )
    marker_path(database_name).write_text(json.dumps(asdict(record)))
    return record


def bench_user() -> User:
    user, created = User.objects.get_or_create(
        username=BENCH_USERNAME, defaults={"email": "bench@cohort-bench.example"}
    )
    if created:
        user.set_unusable_password()
        user.save()
        user.groups.add(Group.objects.get(name=ADMINISTRATOR))
    return user


# --- the physical limit ---------------------------------------------------------------------


def _primary_key(table: str) -> list[str]:
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    return next(info["columns"] for info in constraints.values() if info["primary_key"])


def _scratch_ddl(table: str) -> list[str]:
    """Statements creating an empty copy of `table` with its primary key only."""
    scratch = SCRATCH_PREFIX + table
    quote = connection.ops.quote_name
    if connection.vendor == "postgresql":
        key = ", ".join(quote(column) for column in _primary_key(table))
        return [
            f"CREATE TABLE {scratch} (LIKE {table} INCLUDING DEFAULTS)",
            f"ALTER TABLE {scratch} ADD PRIMARY KEY ({key})",
        ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND tbl_name = %s", [table]
        )
        (sql,) = cursor.fetchone()
    # The table's own definition (its primary key, and the UNIQUE of a unique column,
    # which SQLite keeps inside the table), without foreign keys or the indexes.
    sql = re.sub(rf'"{re.escape(table)}"', f'"{scratch}"', sql, count=1)
    sql = re.sub(r"REFERENCES \"\w+\" \(\"\w+\"\) DEFERRABLE INITIALLY DEFERRED", "", sql)
    return [sql]


def _drop_scratch(cursor, table: str) -> None:
    cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH_PREFIX}{table}")


def physical_build() -> tuple[int, Measured]:
    """Rows of the dataset's tables, and what writing them again into plain tables costs."""
    rows = 0
    samples = []
    tables = [model._meta.db_table for model in DATASET_MODELS]
    meter = Meter()
    with connection.cursor() as cursor:
        for table in tables:
            _drop_scratch(cursor, table)
            for statement in _scratch_ddl(table):
                cursor.execute(statement)
        for table in tables:
            meter.start()
            with transaction.atomic(), connection.cursor() as timed:
                timed.execute(f"INSERT INTO {SCRATCH_PREFIX}{table} SELECT * FROM {table}")
                rows += timed.rowcount
            samples.append(meter.stop())
        for table in tables:
            _drop_scratch(cursor, table)
    total = Measured(
        wall_s=sum(sample.wall_s for sample in samples),
        client_cpu_s=sum(sample.client_cpu_s for sample in samples),
        db_cpu_s=None
        if samples[0].db_cpu_s is None
        else sum(sample.db_cpu_s or 0 for sample in samples),
        wal_bytes=None
        if samples[0].wal_bytes is None
        else sum(sample.wal_bytes or 0 for sample in samples),
    )
    return rows, total
