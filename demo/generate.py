"""Demo rows, generated in memory a chunk at a time from one seeded random stream.

Faker, seeded once, fills only small pools of names (companies are built from
them); every per-row choice comes from one `random.Random(seed)`, so the same seed
produces the same rows on an empty database (demo.load inserts them)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from random import Random

from faker import Faker

from django.db import connection
from django.utils.text import slugify

from deals.choices import CLOSED_STAGES
from deals.models import Deal
from demo.vocabulary import (
    ACTIVITY_KIND,
    BRAND_PREFIXES,
    BRAND_ROOTS,
    COMPANY_SUFFIXES,
    COUNTRIES,
    COUNTRY,
    DEAL_PRODUCTS,
    DEAL_STAGE,
    DEAL_STAGES_OF_CONTACT,
    INDUSTRIES,
    JOB_TITLES,
    LEAD_STATUS,
    LIFECYCLE,
    MAIN_CURRENCIES,
    NOTES,
    SCORE_RANGE,
    SOURCE,
    SUBJECT_TEMPLATES,
    TOPICS,
    CountryProfile,
)
from leads.models import Lead

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
    "last_activity_at",
)

# The order of the values in lead and deal rows (SeedRows.lead_row / deal_row).
LEAD_COLUMNS = (
    "id",
    "name",
    "email",
    "phone",
    "company",
    "source",
    "contact",
    "owner",
    "status",
    "score",
    "created_at",
    "updated_at",
)
DEAL_COLUMNS = (
    "id",
    "title",
    "contact",
    "value",
    "currency",
    "stage",
    "expected_close_date",
    "owner",
    "closed_at",
    "created_at",
    "updated_at",
)


@dataclass(slots=True)
class SeedContact:
    """A contact on its way in: its values, its id (given before it is written, so its
    leads, deals and activities can point at it) and its latest activity's time.

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
    last_activity_at: datetime | None = None

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
            adapt_datetime(self.last_activity_at),
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
        """Activity rows as tuples of database-ready values, in ACTIVITY_COLUMNS order.

        Also sets each contact's last_activity_at, so contacts are written once, complete
        (an UPDATE of every contact afterwards doubled the contacts' heap).
        Leads and deals must have their ids already.
        """
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
            occurred = _between(rng, start, end)
            if contact.last_activity_at is None or occurred > contact.last_activity_at:
                contact.last_activity_at = occurred
            occurred_at = adapt_datetime(occurred)
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
