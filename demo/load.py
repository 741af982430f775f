"""Loading demo data: `seed_demo` and `bootstrap_demo`, behind the commands of the same name.

Rows are built (demo.generate) and written a chunk at a time, so memory stays flat:
every table through COPY on PostgreSQL and plain multi-row INSERTs on SQLite, with
ids handed out beforehand (bulk_create measured several times slower). Into empty
tables, indexes and foreign keys are built after the load (demo.indexes).
"""

from __future__ import annotations

import dataclasses
import itertools
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from random import Random

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from accounts.roles import ADMINISTRATOR, SALES_MANAGER, SALES_REP
from activities.models import Activity
from contacts.models import Contact
from deals.models import Deal
from demo.generate import (
    ACTIVITY_COLUMNS,
    CONTACT_COLUMNS,
    DEAL_COLUMNS,
    DEMO_DOMAIN,
    LEAD_COLUMNS,
    MIN_COMPANIES,
    _Generator,
    company_pool,
    name_pools,
)
from demo.indexes import indexes_built_after_load
from demo.tags import seed_demo_tags
from demo.vocabulary import (
    OWNER_WEIGHT,
    SALES_TEAM,
)
from leads.models import Lead

DEFAULT_CONTACTS = 1_000
DEFAULT_SEED = 42
DEFAULT_TAGS = 20
ADMIN_USERNAME = "admin"

# Contacts generated and inserted at a time, with their leads, deals and activities:
# big enough to amortise queries, small enough that memory stays flat at a million.
CHUNK_SIZE = 5_000
# Django lowers this further where the backend caps bound parameters (SQLite: 999).
BATCH_SIZE = 1_000

# The tables seed_demo writes itself (tag links go through tags.services, demo.tags).
LOADED_MODELS = (Contact, Lead, Deal, Activity)
SEED_MODELS = {"contacts": Contact, "leads": Lead, "deals": Deal}
# Smallest seed that sets indexes aside when the tables are empty. The drop and
# rebuild cost about 0.1 s, measured at about 1,000 contacts' worth of loading time.
MIN_DEFERRED_INDEXES = 1


@dataclass(frozen=True)
class SeedResult:
    users: int
    contacts: int
    leads: int
    deals: int
    activities: int
    tag_links: int = 0
    # Whether indexes and foreign keys were built after the load (empty tables).
    deferred_indexes: bool = False
    # Seconds per phase: "rows" (generate and write), "indexes", "tag_links".
    timings: dict[str, float] = dataclasses.field(default_factory=dict, compare=False)

    def summary(self) -> str:
        return (
            f"Seeded {self.contacts:,} contacts, {self.leads:,} leads, {self.deals:,} deals, "
            f"{self.activities:,} activities and {self.tag_links:,} tag links "
            f"for {self.users} sales users"
        )


@dataclass(frozen=True)
class BootstrapResult:
    created: bool
    # The generated admin password, to show once; None when it came from the environment.
    generated_password: str | None = None
    seed: SeedResult | None = None


@contextmanager
def explicit_timestamps(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let bulk_create keep the created_at/updated_at values set on the objects.

    DateTimeField.pre_save overwrites auto_now/auto_now_add fields with now() on
    insert, and bulk_create calls it too, so the flags are switched off for the
    duration. The flags are process-wide; seeding runs in its own command process,
    and the finally block puts them back even when the seed fails.
    """
    saved: list[tuple[models.DateField, bool, bool]] = []
    for model_class in model_classes:
        for field in model_class._meta.concrete_fields:
            if isinstance(field, models.DateField) and (field.auto_now or field.auto_now_add):
                saved.append((field, field.auto_now, field.auto_now_add))
                field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


@contextmanager
def unlogged_queries() -> Iterator[None]:
    """Skip Django's DEBUG query log on this thread's connection for a bulk load.

    With DEBUG on (the default here), every INSERT is rendered with its parameters
    quoted, on SQLite by an extra SELECT QUOTE(...) query: measured at 40% more CPU
    for a log nobody reads. Only this connection changes, not the global settings.
    """
    connection.make_debug_cursor = connection.make_cursor
    try:
        yield
    finally:
        del connection.make_debug_cursor


@contextmanager
def roomy_sqlite_cache(kibibytes: int = 256 * 1024) -> Iterator[None]:
    """Give SQLite a large page cache while bulk loading; no-op on other databases.

    The default 2 MB cache thrashes once the randomly ordered indexes (email, name,
    created_at) outgrow it, and each miss is a read system call: measured at half
    the system time of a seed. Pages are only allocated as used.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        (previous,) = cursor.fetchone()
        cursor.execute(f"PRAGMA cache_size = -{int(kibibytes)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {int(previous)}")


def ensure_sales_team() -> list[User]:
    """The demo's sales users, created once and reused by later seeds."""
    groups = {
        role: Group.objects.get_or_create(name=role)[0] for role in (SALES_MANAGER, SALES_REP)
    }
    team = []
    for first_name, last_name, role in SALES_TEAM:
        username = f"{first_name}.{last_name}".lower()
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first_name,
                "last_name": last_name,
                "email": f"{username}@{DEMO_DOMAIN}",
                # Demo people never log in; make_password(None) is unusable and cheap.
                "password": make_password(None),
            },
        )
        user.groups.add(groups[role])
        team.append(user)
    return team


def insert_rows(
    model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[object]]
) -> int:
    """INSERT rows of database-ready values, in batches; returns how many.

    For the two big tables, contacts and activities. bulk_create prepares every
    value through the field API: measured at about 165 µs a contact and 90 µs an
    activity, 35 s of CPU for 100,000 contacts (budget: 60 s), against a few here.
    Fields not named get their default, so a field added to the model later still works.
    """
    if not rows:
        return 0
    meta = model._meta
    named = [meta.get_field(name) for name in field_names]
    rest = [
        field
        for field in meta.concrete_fields
        if field not in named and not (field.primary_key and field.auto_created)
    ]
    fields = [*named, *rest]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    defaults = tuple(field.get_db_prep_save(field.get_default(), connection) for field in rest)
    if connection.vendor == "postgresql":
        return _copy_rows(meta.db_table, [field.column for field in fields], rows, defaults)
    # Multi-row VALUES rather than executemany, which costs psycopg a round trip a row;
    # the backend's own batch size keeps each statement within its parameter limit.
    batch = max(1, min(BATCH_SIZE, connection.ops.bulk_batch_size(fields, rows)))
    row_placeholders = f"({', '.join(['%s'] * len(fields))})"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            cursor.execute(
                f"INSERT INTO {quote(meta.db_table)} ({columns}) "
                f"VALUES {', '.join([row_placeholders] * len(part))}",
                [value for row in part for value in (*row, *defaults)],
            )
    return len(rows)


def _copy_rows(
    table: str, columns: list[str], rows: Sequence[Sequence[object]], defaults: tuple
) -> int:
    """PostgreSQL's COPY … FROM STDIN: the rows streamed in one command, with no
    statement to build and parse per batch (the bulk path PostgreSQL recommends)."""
    quote = connection.ops.quote_name
    command = f"COPY {quote(table)} ({', '.join(quote(column) for column in columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(command) as copy:
        for row in rows:
            copy.write_row((*row, *defaults))
    return len(rows)


def seed_demo(
    contacts: int = DEFAULT_CONTACTS, seed: int = DEFAULT_SEED, tags: int = DEFAULT_TAGS
) -> SeedResult:
    """Add `contacts` demo contacts with their leads, deals and activities.

    Appends: each run continues the email numbering from the highest contact id,
    so addresses never collide with an earlier seed's. Into empty tables (the usual
    first seed and the benchmark's build) the secondary indexes and foreign keys are
    set aside and rebuilt after the rows are in (demo.indexes), in this transaction.
    """
    if contacts < 0:
        raise ValueError("contacts must be zero or more")
    rng = Random(seed)
    names = name_pools(seed)
    companies = company_pool(seed, max(MIN_COMPANIES, contacts // 10))
    timings: dict[str, float] = {}
    with (
        transaction.atomic(),
        explicit_timestamps(Lead, Deal),
        unlogged_queries(),
        roomy_sqlite_cache(),
    ):
        team = ensure_sales_team()
        generator = _Generator(
            rng=rng,
            names=names,
            companies=companies,
            owner_ids=[user.pk for user in team],
            owner_cum_weights=list(
                itertools.accumulate(OWNER_WEIGHT[role] for _, _, role in SALES_TEAM)
            ),
            now=timezone.now(),
        )
        ids = _IdAllocator()
        first_ids = {key: ids.peek(model) for key, model in SEED_MODELS.items()}
        # A seeded contact's number never exceeds its own id (both count up from the
        # maximum at the start of its seed), so numbers above today's maximum are free.
        next_number = (Contact.objects.aggregate(top=Max("id"))["top"] or 0) + 1
        deferred = contacts >= MIN_DEFERRED_INDEXES and _all_empty()
        started = time.perf_counter()
        with indexes_built_after_load(LOADED_MODELS) if deferred else nullcontext():
            totals = _load_rows(generator, ids, next_number, contacts)
            timings["rows"] = time.perf_counter() - started
        timings["indexes"] = time.perf_counter() - started - timings["rows"]
        started = time.perf_counter()
        totals["tag_links"] = seed_demo_tags(first_ids, tags) if tags else 0
        timings["tag_links"] = time.perf_counter() - started
    return SeedResult(
        users=len(team), contacts=contacts, **totals, deferred_indexes=deferred, timings=timings
    )


def _load_rows(
    generator: _Generator, ids: _IdAllocator, next_number: int, contacts: int
) -> dict[str, int]:
    """Generate and write the rows a chunk at a time; returns the counts per table.

    Ids are handed out before a row is written, so every table goes in with one COPY
    (or multi-row INSERT) a chunk, and each contact is written once, last activity
    included. The order of the generator's calls is unchanged, so a seed still makes
    the same rows.
    """
    adapt_datetime = connection.ops.adapt_datetimefield_value
    totals = {"leads": 0, "deals": 0, "activities": 0}
    lead_row = _row_builder(Lead, LEAD_COLUMNS)
    deal_row = _row_builder(Deal, DEAL_COLUMNS)
    for start in range(0, contacts, CHUNK_SIZE):
        chunk = generator.contacts(next_number + start, min(CHUNK_SIZE, contacts - start))
        for contact, pk in zip(chunk, ids.take(Contact, len(chunk)), strict=True):
            contact.pk = pk
        leads = generator.leads(chunk)
        for lead, pk in zip(leads, ids.take(Lead, len(leads)), strict=True):
            lead.pk = pk
        deals = generator.deals(chunk)
        for deal, pk in zip(deals, ids.take(Deal, len(deals)), strict=True):
            deal.pk = pk
        activities = generator.activities(chunk, leads, deals)  # sets last_activity_at
        insert_rows(
            Contact, ("id", *CONTACT_COLUMNS), [(c.pk, *c.db_row(adapt_datetime)) for c in chunk]
        )
        totals["leads"] += insert_rows(Lead, LEAD_COLUMNS, [lead_row(lead) for lead in leads])
        totals["deals"] += insert_rows(Deal, DEAL_COLUMNS, [deal_row(deal) for deal in deals])
        totals["activities"] += insert_rows(Activity, ACTIVITY_COLUMNS, activities)
    return totals


def _all_empty() -> bool:
    return not any(model.objects.exists() for model in LOADED_MODELS)


class _IdAllocator:
    """Primary keys for rows about to be written, from the same source the database
    would use, so a seed gets the ids (and the rows) it got when the database chose.

    PostgreSQL: nextval() of the table's sequence, safe beside other writers.
    SQLite: one past the highest id ever used (AUTOINCREMENT's sqlite_sequence); the
    seed's transaction is IMMEDIATE (cohort.settings), so no other writer runs meanwhile.
    """

    def __init__(self) -> None:
        self._next: dict[type[models.Model], int] = {}

    def peek(self, model: type[models.Model]) -> int:
        """The first id this seed will give a `model` row (an estimate on PostgreSQL)."""
        if connection.vendor == "postgresql":
            top = model.objects.aggregate(top=Max("pk"))["top"] or 0
            return top + 1
        return self._sqlite_next(model)

    def take(self, model: type[models.Model], count: int) -> list[int]:
        if not count:
            return []
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [model._meta.db_table, model._meta.pk.column, count],
                )
                return [pk for (pk,) in cursor.fetchall()]
        first = self._sqlite_next(model)
        self._next[model] = first + count
        return list(range(first, first + count))

    def _sqlite_next(self, model: type[models.Model]) -> int:
        if model not in self._next:
            table = model._meta.db_table
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "
                    f"COALESCE((SELECT MAX({connection.ops.quote_name(model._meta.pk.column)}) "
                    f"FROM {connection.ops.quote_name(table)}), 0))",
                    [table],
                )
                self._next[model] = cursor.fetchone()[0] + 1
        return self._next[model]


def _row_builder(
    model: type[models.Model], columns: Sequence[str]
) -> Callable[[models.Model], tuple[object, ...]]:
    """A function turning a model instance into its database-ready values for `columns`.

    Field.get_db_prep_save for the types that need converting (dates, decimals), plain
    attribute reads for the rest: bulk_create's full preparation measured several times
    slower, and leads and deals are 400,000 rows at a million contacts.
    """
    ops = connection.ops
    getters: list[Callable[[models.Model], object]] = []
    for name in columns:
        field = model._meta.get_field(name)
        attname = field.attname
        if isinstance(field, models.DateTimeField):
            getters.append(lambda obj, a=attname: ops.adapt_datetimefield_value(getattr(obj, a)))
        elif isinstance(field, (models.DateField, models.DecimalField)):
            getters.append(
                lambda obj, a=attname, f=field: f.get_db_prep_save(getattr(obj, a), connection)
            )
        else:
            getters.append(lambda obj, a=attname: getattr(obj, a))
    return lambda obj: tuple(getter(obj) for getter in getters)


def vacuum_analyze() -> None:
    """After a load, outside any transaction: planner statistics for the new rows, and on
    PostgreSQL a vacuum, which also sets the visibility map that index-only scans read
    (autovacuum may be off, as on the review's server). SQLite: ANALYZE."""
    if connection.in_atomic_block:
        return  # VACUUM cannot run in a transaction; the caller's commit comes later
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)" if connection.vendor == "postgresql" else "ANALYZE")


def bootstrap_demo(
    contacts: int = DEFAULT_CONTACTS,
    admin_password: str | None = None,
    seed: int = DEFAULT_SEED,
) -> BootstrapResult:
    """First run: create the `admin` superuser and seed demo data. Later runs: nothing.

    One transaction, so a failed seed leaves no admin behind and the next run retries.
    A weak `admin_password` raises ValidationError (with the validators' messages).
    """
    with transaction.atomic():
        if User.objects.filter(username=ADMIN_USERNAME).exists():
            return BootstrapResult(created=False)
        generated = None if admin_password else secrets.token_urlsafe(12)
        email = f"{ADMIN_USERNAME}@{DEMO_DOMAIN}"
        if admin_password:
            # The same rules as the change-password page; raises ValidationError.
            validate_password(admin_password, User(username=ADMIN_USERNAME, email=email))
        admin = User.objects.create_superuser(
            ADMIN_USERNAME, email=email, password=admin_password or generated
        )
        admin.groups.add(Group.objects.get_or_create(name=ADMINISTRATOR)[0])
        result = seed_demo(contacts=contacts, seed=seed)
    return BootstrapResult(created=True, generated_password=generated, seed=result)
