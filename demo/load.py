"""Loading demo data: `seed_demo` and `bootstrap_demo`, behind the commands of the same name.

Rows are built (demo.generate) and inserted a chunk at a time, so memory stays flat:
leads and deals through bulk_create, the two big tables (contacts, activities)
through plain multi-row INSERTs (COPY on PostgreSQL), which measured several times faster.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
from activities.services import refresh_last_activity
from contacts.models import Contact
from deals.models import Deal
from demo.generate import (
    ACTIVITY_COLUMNS,
    CONTACT_COLUMNS,
    DEMO_DOMAIN,
    MIN_COMPANIES,
    _Generator,
    company_pool,
    name_pools,
)
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

# Up to this many new contacts, only they get last_activity_at refreshed, their ids
# passed as query parameters (SQLite allows 32,766, psycopg 65,535).
MAX_REFRESH_IDS = 10_000


@dataclass(frozen=True)
class SeedResult:
    users: int
    contacts: int
    leads: int
    deals: int
    activities: int
    tag_links: int = 0

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


# The columns of SeedContact.db_row, in order; last_activity_at is filled in at the end.


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
    so addresses never collide with an earlier seed's.
    """
    if contacts < 0:
        raise ValueError("contacts must be zero or more")
    rng = Random(seed)
    names = name_pools(seed)
    companies = company_pool(seed, max(MIN_COMPANIES, contacts // 10))
    totals = {"leads": 0, "deals": 0, "activities": 0}
    first_ids = {
        key: (model.objects.aggregate(top=Max("id"))["top"] or 0) + 1
        for key, model in (("contacts", Contact), ("leads", Lead), ("deals", Deal))
    }
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
        # A seeded contact's number never exceeds its own id (both count up from the
        # maximum at the start of its seed), so numbers above today's maximum are free.
        high_water = Contact.objects.aggregate(top=Max("id"))["top"] or 0
        next_number = high_water + 1
        adapt_datetime = connection.ops.adapt_datetimefield_value
        new_ids: list[int] = []
        for start in range(0, contacts, CHUNK_SIZE):
            chunk = generator.contacts(next_number + start, min(CHUNK_SIZE, contacts - start))
            insert_rows(Contact, CONTACT_COLUMNS, [c.db_row(adapt_datetime) for c in chunk])
            # Plain INSERTs return no ids (and RETURNING's row order is not guaranteed);
            # emails are unique, so they find the new rows even if another session
            # inserted contacts meanwhile.
            new_rows = Contact.objects.filter(pk__gt=high_water).order_by()
            ids = dict(new_rows.values_list("email", "pk"))
            for contact in chunk:
                contact.pk = ids[contact.email]
            high_water = max(ids.values())
            if len(new_ids) <= MAX_REFRESH_IDS:  # past that they are not used; keep memory flat
                new_ids.extend(contact.pk for contact in chunk)
            # Leads and deals are few, and the activities below need their ids back.
            leads = Lead.objects.bulk_create(generator.leads(chunk), batch_size=BATCH_SIZE)
            deals = Deal.objects.bulk_create(generator.deals(chunk), batch_size=BATCH_SIZE)
            activities = generator.activities(chunk, leads, deals)
            totals["activities"] += insert_rows(Activity, ACTIVITY_COLUMNS, activities)
            totals["leads"] += len(leads)
            totals["deals"] += len(deals)
        # One set-based UPDATE. Its ids travel as query parameters, so a big seed
        # refreshes every contact instead (earlier ones come out unchanged); on an
        # empty database those are the same rows.
        refresh_last_activity(new_ids if len(new_ids) <= MAX_REFRESH_IDS else None)
        totals["tag_links"] = seed_demo_tags(first_ids, tags) if tags else 0
    return SeedResult(users=len(team), contacts=contacts, **totals)


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
