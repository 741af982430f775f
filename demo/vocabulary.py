"""The demo's vocabulary: the sales team, countries, job titles, stages, products and
company names, each with the weights that make a seeded CRM look like a real one."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from random import Random
from typing import Generic, TypeVar

from accounts.roles import SALES_MANAGER, SALES_REP
from activities.choices import ActivityKind
from contacts.choices import LifecycleStage, Source
from deals.choices import DealStage
from leads.choices import LeadStatus

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
