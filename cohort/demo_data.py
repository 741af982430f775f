"""Reproducible demo data: the generators behind `seed_demo` and `bootstrap_demo`.

Faker, seeded once, fills only small pools of names (companies are built from
them); every per-row choice comes from one `random.Random(seed)`. That keeps a
million rows fast and makes the same seed produce the same rows on an empty
database. Rows are built and inserted a chunk at a time, so memory stays flat:
leads and deals through bulk_create, the two big tables (contacts, activities)
through plain multi-row INSERTs, which measured several times faster.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from random import Random
from typing import Generic, TypeVar

from faker import Faker

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from accounts.roles import ADMINISTRATOR, SALES_MANAGER, SALES_REP
from activities.choices import ActivityKind
from activities.models import Activity
from activities.services import refresh_last_activity
from contacts.choices import LifecycleStage, Source
from contacts.models import Contact
from deals.choices import CLOSED_STAGES, DealStage
from deals.models import Deal
from leads.choices import LeadStatus
from leads.models import Lead
from tags.demo_data import seed_demo_tags

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

LEADS_PER_CONTACT = 0.1
DEALS_PER_CONTACT = 0.3
ACTIVITIES_PER_CONTACT = 2
HISTORY = timedelta(days=365)
# The longest a won or lost deal stayed open.
DEAL_CYCLE = timedelta(days=120)
MIN_COMPANIES = 50

DEMO_DOMAIN = "cohort-demo.example"

# The order of the values in the activity rows the generator builds.
ACTIVITY_COLUMNS = (
    "kind",
    "subject",
    "notes",
    "occurred_at",
    "owner",
    "contact",
    "lead",
    "deal",
    "created_at",
)

# (first name, last name, role): a fixed team, so re-seeding with any seed reuses it.
SALES_TEAM: tuple[tuple[str, str, str], ...] = (
    ("Alice", "Martin", SALES_MANAGER),
    ("Ben", "Okafor", SALES_REP),
    ("Carla", "Rossi", SALES_REP),
    ("David", "Chen", SALES_REP),
    ("Emma", "Schmidt", SALES_MANAGER),
    ("Farid", "Haddad", SALES_REP),
    ("Grace", "Kim", SALES_REP),
    ("Hugo", "Lefebvre", SALES_REP),
)
# Reps carry most of the book; managers keep a few key accounts.
OWNER_WEIGHT = {SALES_REP: 3, SALES_MANAGER: 1}


T = TypeVar("T")


@dataclass(frozen=True)
class Weighted(Generic[T]):
    """Values with weights; cumulative weights precomputed for Random.choices."""

    values: tuple[T, ...]
    cum_weights: tuple[int, ...]

    @classmethod
    def of(cls, pairs: Sequence[tuple[T, int]]) -> Weighted[T]:
        return cls(
            tuple(value for value, _ in pairs),
            tuple(itertools.accumulate(weight for _, weight in pairs)),
        )

    def pick(self, rng: Random, k: int = 1) -> list[T]:
        return rng.choices(self.values, cum_weights=self.cum_weights, k=k)


@dataclass(frozen=True)
class CountryProfile:
    """What makes a contact from one country look plausible."""

    code: str
    weight: int
    locale: str
    calling_code: str
    currency: str
    cities: tuple[str, ...]


COUNTRIES: tuple[CountryProfile, ...] = (
    CountryProfile(
        "US",
        30,
        "en_US",
        "1",
        "USD",
        ("New York", "San Francisco", "Chicago", "Austin", "Boston", "Seattle", "Denver"),
    ),
    CountryProfile(
        "GB",
        12,
        "en_GB",
        "44",
        "GBP",
        ("London", "Manchester", "Edinburgh", "Bristol", "Leeds", "Birmingham"),
    ),
    CountryProfile(
        "DE", 10, "de_DE", "49", "EUR", ("Berlin", "Munich", "Hamburg", "Cologne", "Frankfurt")
    ),
    CountryProfile("FR", 8, "fr_FR", "33", "EUR", ("Paris", "Lyon", "Marseille", "Toulouse")),
    CountryProfile("CA", 7, "en_CA", "1", "CAD", ("Toronto", "Vancouver", "Montreal", "Calgary")),
    CountryProfile("AU", 6, "en_AU", "61", "AUD", ("Sydney", "Melbourne", "Brisbane", "Perth")),
    CountryProfile("NL", 5, "nl_NL", "31", "EUR", ("Amsterdam", "Rotterdam", "Utrecht")),
    CountryProfile("ES", 5, "es_ES", "34", "EUR", ("Madrid", "Barcelona", "Valencia", "Seville")),
    CountryProfile("IN", 6, "en_IN", "91", "INR", ("Bengaluru", "Mumbai", "Delhi", "Pune")),
    CountryProfile("BR", 5, "pt_BR", "55", "BRL", ("São Paulo", "Rio de Janeiro", "Curitiba")),
    # A long tail, so country filters and maps have something to show.
    CountryProfile("IT", 1, "it_IT", "39", "EUR", ("Milan", "Rome", "Turin")),
    CountryProfile("SE", 1, "sv_SE", "46", "SEK", ("Stockholm", "Gothenburg", "Malmö")),
    CountryProfile("PL", 1, "pl_PL", "48", "PLN", ("Warsaw", "Kraków", "Wrocław")),
    CountryProfile("IE", 1, "en_IE", "353", "EUR", ("Dublin", "Cork", "Galway")),
    CountryProfile("MX", 1, "es_MX", "52", "MXN", ("Mexico City", "Guadalajara", "Monterrey")),
    CountryProfile("CH", 1, "de_CH", "41", "CHF", ("Zurich", "Geneva", "Basel")),
    CountryProfile("DK", 1, "da_DK", "45", "DKK", ("Copenhagen", "Aarhus")),
    CountryProfile("PT", 1, "pt_PT", "351", "EUR", ("Lisbon", "Porto")),
    CountryProfile("NZ", 1, "en_NZ", "64", "NZD", ("Auckland", "Wellington")),
    CountryProfile("BE", 1, "nl_BE", "32", "EUR", ("Brussels", "Antwerp", "Ghent")),
)
COUNTRY = Weighted.of([(country, country.weight) for country in COUNTRIES])
MAIN_CURRENCIES = frozenset({"USD", "EUR", "GBP"})

JOB_TITLES: tuple[str, ...] = (
    "CEO",
    "CTO",
    "CFO",
    "COO",
    "VP of Sales",
    "VP of Engineering",
    "VP of Marketing",
    "Head of Operations",
    "Head of Procurement",
    "Head of Customer Success",
    "Director of IT",
    "Director of Finance",
    "Engineering Manager",
    "Product Manager",
    "Marketing Manager",
    "Sales Manager",
    "Account Executive",
    "Operations Manager",
    "Procurement Specialist",
    "Software Engineer",
    "Data Analyst",
    "IT Administrator",
    "Office Manager",
    "HR Business Partner",
    "Founder",
    "Consultant",
)

# Weights sketch a typical B2B funnel.
LIFECYCLE = Weighted.of(
    (
        (LifecycleStage.SUBSCRIBER, 30),
        (LifecycleStage.LEAD, 30),
        (LifecycleStage.OPPORTUNITY, 15),
        (LifecycleStage.CUSTOMER, 20),
        (LifecycleStage.OTHER, 5),
    )
)
# Lead score range per stage: customers and opportunities score higher.
SCORE_RANGE: dict[str, tuple[int, int]] = {
    LifecycleStage.SUBSCRIBER: (0, 40),
    LifecycleStage.LEAD: (10, 65),
    LifecycleStage.OPPORTUNITY: (40, 90),
    LifecycleStage.CUSTOMER: (50, 100),
    LifecycleStage.OTHER: (0, 50),
}
SOURCE = Weighted.of(
    (
        (Source.WEBSITE, 30),
        (Source.REFERRAL, 15),
        (Source.EVENT, 12),
        (Source.OUTBOUND, 15),
        (Source.SOCIAL, 10),
        (Source.PARTNER, 8),
        (Source.IMPORT, 7),
        (Source.OTHER, 3),
    )
)
LEAD_STATUS = Weighted.of(
    (
        (LeadStatus.NEW, 30),
        (LeadStatus.CONTACTED, 25),
        (LeadStatus.QUALIFIED, 20),
        (LeadStatus.UNQUALIFIED, 15),
        (LeadStatus.CONVERTED, 10),
    )
)
DEAL_STAGE = Weighted.of(
    (
        (DealStage.QUALIFICATION, 25),
        (DealStage.PROPOSAL, 20),
        (DealStage.NEGOTIATION, 15),
        (DealStage.WON, 22),
        (DealStage.LOST, 18),
    )
)
ACTIVITY_KIND = Weighted.of(
    (
        (ActivityKind.EMAIL, 35),
        (ActivityKind.CALL, 25),
        (ActivityKind.MEETING, 15),
        (ActivityKind.NOTE, 15),
        (ActivityKind.TASK, 10),
    )
)
# Contacts at these stages are the ones deals usually hang off.
DEAL_STAGES_OF_CONTACT = frozenset(
    {LifecycleStage.LEAD, LifecycleStage.OPPORTUNITY, LifecycleStage.CUSTOMER}
)

DEAL_PRODUCTS: tuple[str, ...] = (
    "Annual subscription",
    "Enterprise plan",
    "Team licences",
    "Pilot project",
    "Renewal",
    "Seat expansion",
    "Onboarding package",
    "Premium support",
    "Data migration",
    "Integration services",
)
TOPICS: tuple[str, ...] = (
    "pricing",
    "renewal",
    "onboarding",
    "contract terms",
    "security review",
    "integration",
    "pilot results",
    "budget",
    "roadmap",
    "support ticket",
    "procurement",
    "product demo",
)
SUBJECT_TEMPLATES: dict[str, tuple[str, ...]] = {
    ActivityKind.CALL: ("Intro call", "Discovery call", "Call about {topic}", "Check-in call"),
    ActivityKind.EMAIL: ("Re: {topic}", "Follow-up on {topic}", "Sent proposal", "Intro email"),
    ActivityKind.MEETING: ("Demo meeting", "Meeting: {topic}", "Quarterly review", "Workshop"),
    ActivityKind.NOTE: ("Note on {topic}", "Decision makers", "Competitor mentioned"),
    ActivityKind.TASK: ("Send {topic} details", "Prepare quote", "Schedule follow-up"),
}
NOTES: tuple[str, ...] = (
    "Interested, wants a follow-up next week.",
    "Asked for a detailed quote including support.",
    "Budget approved for next quarter.",
    "Evaluating two other vendors; price is the main concern.",
    "Needs sign-off from the CFO before moving on.",
    "Very positive about the demo; sharing it with the team.",
    "Requested references from customers in the same industry.",
    "Legal is reviewing the contract.",
    "Wants SSO and audit logs before committing.",
    "Not a priority right now; check back in two months.",
    "Left a voicemail.",
    "Sent the slides and recording afterwards.",
)

COMPANY_SUFFIXES = ("Inc.", "LLC", "Ltd", "Group", "Partners", "Holdings", "& Co.", "Consulting")
BRAND_PREFIXES = (
    "North",
    "Blue",
    "Bright",
    "Clear",
    "Iron",
    "Silver",
    "Summit",
    "Nova",
    "Apex",
    "Pine",
    "Harbor",
    "Cedar",
    "Red",
    "Stone",
    "Swift",
    "True",
    "Star",
    "Oak",
    "Lake",
    "Sun",
)
BRAND_ROOTS = (
    "wind",
    "path",
    "field",
    "bridge",
    "point",
    "wave",
    "line",
    "gate",
    "core",
    "leaf",
    "view",
    "rock",
    "light",
    "works",
    "ridge",
)
INDUSTRIES = (
    "Systems",
    "Logistics",
    "Analytics",
    "Health",
    "Foods",
    "Energy",
    "Robotics",
    "Software",
    "Capital",
    "Media",
    "Labs",
    "Networks",
    "Retail",
    "Solutions",
    "Manufacturing",
    "Biotech",
    "Security",
    "Travel",
    "Insurance",
    "Construction",
)


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
CONTACT_COLUMNS = (
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
    "owner",
    "created_at",
    "updated_at",
)


@dataclass(slots=True)
class SeedContact:
    """A contact on its way in: its values, and its id once inserted.

    Cheaper than a Contact instance, which the insert does not need (see insert_rows).
    """

    first_name: str
    last_name: str
    email: str
    phone: str
    company: str
    job_title: str
    country: CountryProfile
    city: str
    lifecycle_stage: str
    lead_score: int
    source: str
    owner_id: int
    created_at: datetime
    updated_at: datetime
    pk: int | None = None

    def db_row(self, adapt_datetime: Callable[[datetime], object]) -> tuple[object, ...]:
        return (
            self.first_name,
            self.last_name,
            self.email,
            self.phone,
            self.company,
            self.job_title,
            self.country.code,
            self.city,
            self.lifecycle_stage,
            self.lead_score,
            self.source,
            self.owner_id,
            adapt_datetime(self.created_at),
            adapt_datetime(self.updated_at),
        )


# A pool entry: the name as displayed, and its ASCII form for email addresses.
NameEntry = tuple[str, str]


@dataclass(frozen=True)
class NamePools:
    first_names: dict[str, tuple[NameEntry, ...]]  # keyed by country code
    last_names: dict[str, tuple[NameEntry, ...]]


def _email_part(name: str) -> str:
    """`José María` → `jose-maria`: ASCII, so every address is plain and valid."""
    return slugify(name) or "contact"


def _pool(draw: Iterator[str] | Sequence[str], size: int) -> tuple[NameEntry, ...]:
    # dict.fromkeys rather than a set: deduplicates but keeps the seeded order.
    names = dict.fromkeys(itertools.islice(draw, size))
    return tuple((name, _email_part(name)) for name in names)


@lru_cache(maxsize=4)
def name_pools(seed: int) -> NamePools:
    """Per-country first and last names from Faker's matching locale."""
    first_names: dict[str, tuple[NameEntry, ...]] = {}
    last_names: dict[str, tuple[NameEntry, ...]] = {}
    for country in COUNTRIES:
        # Only the person provider: loading every provider costs ten times as long.
        fake = Faker(country.locale, providers=["faker.providers.person"])
        fake.seed_instance(seed)
        first_names[country.code] = _pool(iter(fake.first_name, None), 120)
        last_names[country.code] = _pool(iter(fake.last_name, None), 120)
    return NamePools(first_names, last_names)


@lru_cache(maxsize=4)
def company_pool(seed: int, size: int) -> tuple[tuple[str, str], ...]:
    """`size` distinct (company name, email domain) pairs.

    Built from seeded name pools rather than Faker's company(), which costs about
    0.2 ms a call: too slow for the 100,000 companies of a million contacts.
    """
    rng = Random(seed)
    pools = name_pools(seed)
    surnames = [name for names in pools.last_names.values() for name, _ in names]
    companies: dict[str, str] = {}
    # Bounded, so a tiny name space can never loop forever; it just yields fewer.
    for _ in range(size * 5):
        if len(companies) >= size:
            break
        pattern = rng.random()
        if pattern < 0.35:
            name = f"{rng.choice(surnames)} {rng.choice(COMPANY_SUFFIXES)}"
        elif pattern < 0.5:
            name = f"{rng.choice(surnames)}-{rng.choice(surnames)}"
        elif pattern < 0.6:
            name = f"{rng.choice(surnames)} & {rng.choice(surnames)}"
        else:
            brand = rng.choice(BRAND_PREFIXES) + rng.choice(BRAND_ROOTS)
            name = f"{brand} {rng.choice(INDUSTRIES)}"
        companies.setdefault(name, f"{slugify(name.replace('&', 'and'))}.example")
    return tuple(companies.items())


def _between(rng: Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.random()


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


@dataclass
class _Generator:
    """Builds one chunk of rows at a time; owns the seeded random stream."""

    rng: Random
    names: NamePools
    companies: tuple[tuple[str, str], ...]
    owner_ids: list[int]
    owner_cum_weights: list[int]
    now: datetime

    def contacts(self, first_number: int, count: int) -> list[SeedContact]:
        rng = self.rng
        countries = COUNTRY.pick(rng, count)
        stages = LIFECYCLE.pick(rng, count)
        sources = SOURCE.pick(rng, count)
        owners = rng.choices(self.owner_ids, cum_weights=self.owner_cum_weights, k=count)
        history = HISTORY.total_seconds()
        contacts = []
        for offset, (country, stage, source, owner_id) in enumerate(
            zip(countries, stages, sources, owners, strict=True)
        ):
            first_name, first_part = rng.choice(self.names.first_names[country.code])
            last_name, last_part = rng.choice(self.names.last_names[country.code])
            company, domain = rng.choice(self.companies)
            low, high = SCORE_RANGE[stage]
            digits = str(rng.randrange(10**9, 10**10))
            # Skewed toward recent months, as a growing CRM would be.
            created_at = self.now - timedelta(seconds=history * rng.random() ** 1.3)
            contacts.append(
                SeedContact(
                    first_name=first_name,
                    last_name=last_name,
                    # The running number makes the address unique, whatever the names.
                    email=f"{first_part}.{last_part}.{first_number + offset}@{domain}",
                    phone=f"+{country.calling_code} {digits[:3]} {digits[3:6]} {digits[6:]}",
                    company=company,
                    job_title=rng.choice(JOB_TITLES),
                    country=country,
                    city=rng.choice(country.cities),
                    lifecycle_stage=stage,
                    lead_score=rng.randint(low, high),
                    source=source,
                    owner_id=owner_id,
                    created_at=created_at,
                    updated_at=_between(rng, created_at, self.now),
                )
            )
        return contacts

    def leads(self, contacts: Sequence[SeedContact]) -> list[Lead]:
        rng = self.rng
        count = round(len(contacts) * LEADS_PER_CONTACT)
        statuses = LEAD_STATUS.pick(rng, count)
        leads = []
        for status in statuses:
            if rng.random() < 0.6:
                # A lead that became (or belongs to) a known contact.
                contact = rng.choice(contacts)
                created_at = _between(rng, contact.created_at, self.now)
                lead = Lead(
                    name=f"{contact.first_name} {contact.last_name}",
                    email=contact.email,
                    phone=contact.phone,
                    company=contact.company,
                    source=contact.source,
                    contact_id=contact.pk,
                    owner_id=contact.owner_id,
                )
            else:
                country = COUNTRY.pick(rng)[0]
                first_name, first_part = rng.choice(self.names.first_names[country.code])
                last_name, last_part = rng.choice(self.names.last_names[country.code])
                company, domain = rng.choice(self.companies)
                created_at = self.now - HISTORY * rng.random()
                lead = Lead(
                    name=f"{first_name} {last_name}",
                    email=f"{first_part}.{last_part}@{domain}",
                    company=company,
                    source=SOURCE.pick(rng)[0],
                    owner_id=rng.choices(self.owner_ids, cum_weights=self.owner_cum_weights)[0],
                )
            lead.status = status
            lead.score = rng.randint(0, 100)
            lead.created_at = created_at
            lead.updated_at = _between(rng, created_at, self.now)
            leads.append(lead)
        return leads

    def deals(self, contacts: Sequence[SeedContact]) -> list[Deal]:
        rng = self.rng
        count = round(len(contacts) * DEALS_PER_CONTACT)
        candidates = [c for c in contacts if c.lifecycle_stage in DEAL_STAGES_OF_CONTACT]
        candidates = candidates or list(contacts)
        stages = DEAL_STAGE.pick(rng, count)
        deals = []
        for stage in stages:
            contact = rng.choice(candidates)
            created_at = _between(rng, contact.created_at, self.now)
            currency = contact.country.currency
            if currency not in MAIN_CURRENCIES and rng.random() < 0.7:
                currency = "USD"  # most foreign deals are still quoted in dollars
            # Log-normal: many small deals, a few large ones; median about 8,000.
            value = max(500, round(rng.lognormvariate(9, 0.9), -2))
            closed_at = None
            if stage in CLOSED_STAGES:
                # bulk_create skips save(), so closed_at is set here, not by the model.
                closed_at = _between(rng, created_at, min(self.now, created_at + DEAL_CYCLE))
                expected_close_date = closed_at.date()
            else:
                expected_close_date = (created_at + timedelta(days=rng.randint(14, 150))).date()
            deals.append(
                Deal(
                    title=f"{contact.company} — {rng.choice(DEAL_PRODUCTS)}",
                    contact_id=contact.pk,
                    value=Decimal(int(value)),
                    currency=currency,
                    stage=stage,
                    expected_close_date=expected_close_date,
                    owner_id=contact.owner_id,
                    closed_at=closed_at,
                    created_at=created_at,
                    updated_at=closed_at or _between(rng, created_at, self.now),
                )
            )
        return deals

    def activities(
        self, contacts: Sequence[SeedContact], leads: Sequence[Lead], deals: Sequence[Deal]
    ) -> list[tuple[object, ...]]:
        """Activity rows as tuples of database-ready values, in ACTIVITY_COLUMNS order."""
        rng = self.rng
        adapt_datetime = connection.ops.adapt_datetimefield_value
        count = len(contacts) * ACTIVITIES_PER_CONTACT
        leads_of: dict[int, list[Lead]] = {}
        for lead in leads:
            if lead.contact_id is not None:
                leads_of.setdefault(lead.contact_id, []).append(lead)
        deals_of: dict[int, list[Deal]] = {}
        for deal in deals:
            deals_of.setdefault(deal.contact_id, []).append(deal)
        kinds = ACTIVITY_KIND.pick(rng, count)
        rows = []
        for kind in kinds:
            contact = rng.choice(contacts)
            lead_id = deal_id = None
            start, end = contact.created_at, self.now
            roll = rng.random()
            if roll < 0.4 and contact.pk in deals_of:
                deal = rng.choice(deals_of[contact.pk])
                deal_id = deal.pk
                start, end = deal.created_at, deal.closed_at or self.now
            elif roll < 0.6 and contact.pk in leads_of:
                lead = rng.choice(leads_of[contact.pk])
                lead_id = lead.pk
                start = lead.created_at
            occurred_at = adapt_datetime(_between(rng, start, end))
            owner_id = contact.owner_id
            if rng.random() < 0.1:
                owner_id = rng.choice(self.owner_ids)  # a colleague covering
            rows.append(
                (
                    kind,
                    rng.choice(SUBJECT_TEMPLATES[kind]).format(topic=rng.choice(TOPICS)),
                    rng.choice(NOTES) if rng.random() < 0.6 else "",
                    occurred_at,
                    owner_id,
                    contact.pk,
                    lead_id,
                    deal_id,
                    occurred_at,  # created_at: logged when it happened
                )
            )
        return rows


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
