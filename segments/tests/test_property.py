"""Property: random criteria select in SQL exactly what a plain-Python evaluator selects.

The reference evaluator below is written from the issue's definitions, not from
the compiler: it reads the same rows into dicts and decides each condition in
Python. Hypothesis draws criteria trees (up to 6 conditions, 3 levels) over a
fixed cast of 30 contacts with tags, deals, activity and empty fields.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from random import Random
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django.utils import timezone

from contacts.models import Contact
from deals.models import Deal
from segments import services
from segments.criteria import (
    FIELDS,
    compile_criteria,
    compile_keep,
    context,
    validate_criteria,
)
from segments.models import SegmentMember
from tags.models import ContactTag, Tag

ZONE = "America/New_York"
TEXT_POOL = ["ann", "Bo", "acme", "ACME", "e", "x", "lon", "son", "Smith", "@beta.example", "0"]
TEXT_FIELDS = {"first_name", "last_name", "email", "phone", "company", "job_title", "city"}
FIRST = ["Ann", "Bob", "Cy", "Dee", "Eve", "Finn", "Gus", ""]
LAST = ["Smith", "Anson", "", "Brown", "Lonsdale"]
COMPANIES = ["Acme", "ACME corp", "Beta Ltd", "", "Exo"]
CITIES = ["Boston", "boston", "London", "", "Lonsdale"]
COUNTRIES = ["US", "GB", "FR", ""]
STAGES = ["subscriber", "lead", "opportunity", "customer", "other"]
SOURCES = ["website", "referral", "", "event"]
DEAL_STAGES = ["qualification", "proposal", "negotiation", "won", "lost"]
DATES = ["2025-12-31", "2026-01-01", "2026-01-02", "2026-01-15", "2026-02-01", "2026-03-01"]
DAYS = [1, 5, 30, 90, 400]
NUMBERS = [0, 1, 2, 3, 40, 50, 70, 99.5, 100, 250, 1000, 1200.5]


@dataclass
class World:
    rows: list[dict]
    tag_ids: list[int]
    user_ids: list[int]
    segment_id: int
    now: datetime
    zone: ZoneInfo


def build_world(users) -> World:
    """30 contacts, reproducible, with empty values and related rows of every kind."""
    rng = Random(20260601)
    now = timezone.now()
    tags = [Tag.objects.create(name=f"t{n}", slug=f"t{n}", color="#2563eb") for n in range(4)]
    contacts = []
    for n in range(30):
        first = rng.choice(FIRST)
        contact = Contact.objects.create(
            first_name=first,
            last_name=rng.choice(LAST),
            email=rng.choice(["", f"{first.lower() or 'x'}{n}@acme.example", f"c{n}@beta.example"]),
            phone=rng.choice(["", "+1 555 0100", "020 7946 0000"]),
            company=rng.choice(COMPANIES),
            job_title=rng.choice(["", "CEO", "Buyer", "cto"]),
            city=rng.choice(CITIES),
            country=rng.choice(COUNTRIES),
            lifecycle_stage=rng.choice(STAGES),
            lead_score=rng.choice([0, 1, 40, 50, 70, 71, 100]),
            source=rng.choice(SOURCES),
            owner=rng.choice([None, *users]),
            # whole days back plus half a day: far from any "N days" boundary
            last_activity_at=rng.choice(
                [None, *(now - timedelta(days=d, hours=12) for d in (0, 4, 29, 30, 89, 90, 500))]
            ),
        )
        created = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=rng.randrange(-48, 24 * 62))
        Contact.objects.filter(pk=contact.pk).update(created_at=created)
        for tag in rng.sample(tags, rng.randrange(0, 4)):
            ContactTag.objects.create(record=contact, tag=tag)
        for _ in range(rng.choice([0, 0, 1, 2, 3])):
            Deal.objects.create(
                title="d",
                contact=contact,
                stage=rng.choice(DEAL_STAGES),
                value=Decimal(rng.choice(["0", "50", "250", "999.50", "1000"])),
            )
        contacts.append(contact)
    segment = services.create_segment(name="Picked", user=users[0])
    for contact in rng.sample(contacts, 10):
        services.add_member(segment, contact, users[0])

    rows = []
    for contact in Contact.objects.all():
        deals = list(Deal.objects.filter(contact=contact).values("stage", "value"))
        rows.append(
            {
                **{name: getattr(contact, name) for name in TEXT_FIELDS},
                "id": contact.pk,
                "country": contact.country.code or "",
                "lifecycle_stage": contact.lifecycle_stage,
                "source": contact.source,
                "lead_score": contact.lead_score,
                "owner": contact.owner_id,
                "created_at": contact.created_at,
                "updated_at": contact.updated_at,
                "last_activity_at": contact.last_activity_at,
                "tags": set(
                    ContactTag.objects.filter(record=contact).values_list("tag", flat=True)
                ),
                "deals": deals,
                "segments": set(
                    SegmentMember.objects.filter(contact=contact).values_list("segment", flat=True)
                ),
            }
        )
    return World(
        rows=rows,
        tag_ids=[t.pk for t in tags],
        user_ids=[u.pk for u in users],
        segment_id=segment.pk,
        now=now,
        zone=ZoneInfo(ZONE),
    )


# --- the reference evaluator ------------------------------------------------------------------


def number_of(row: dict, field: str) -> Decimal:
    deals = row["deals"]
    if field == "deals_count":
        return Decimal(len(deals))
    if field == "open_deals_count":
        return Decimal(sum(1 for d in deals if d["stage"] not in ("won", "lost")))
    if field == "won_deals_value":
        return sum((d["value"] for d in deals if d["stage"] == "won"), Decimal(0))
    return Decimal(row[field])


def decide(row: dict, field: str, operator: str, value, world: World) -> bool:
    kind = FIELDS[field].type
    negatives = {
        "not_equals": "equals",
        "not_contains": "contains",
        "not_in": "in",
        "is_not_empty": "is_empty",
        "not_in_last_days": "in_last_days",
        "has_not": "has",
        "has_none": "has_any",
        "not_in_segment": "in_segment",
    }
    if operator in negatives:
        return not decide(row, field, negatives[operator], value, world)
    if kind == "text":
        text = row[field].lower()
        return {
            "equals": lambda: text == value.lower(),
            "contains": lambda: value.lower() in text,
            "starts_with": lambda: text.startswith(value.lower()),
            "ends_with": lambda: text.endswith(value.lower()),
            "in": lambda: text in {v.lower() for v in value},
            "is_empty": lambda: text == "",
        }[operator]()
    if kind in ("choice", "user"):
        current = row[field]
        return {
            "equals": lambda: current == value,
            "in": lambda: current in value,
            "is_empty": lambda: current in (None, ""),
        }[operator]()
    if kind == "number":
        if operator == "is_empty":
            return False
        current = number_of(row, field)
        if operator == "between":
            return Decimal(str(value[0])) <= current <= Decimal(str(value[1]))
        target = Decimal(str(value))
        return {
            "equals": current == target,
            "greater_than": current > target,
            "greater_or_equal": current >= target,
            "less_than": current < target,
            "less_or_equal": current <= target,
        }[operator]
    if kind == "datetime":
        moment = row[field]
        if operator == "is_empty":
            return moment is None
        if moment is None:
            return False
        if operator == "in_last_days":
            return moment >= world.now - timedelta(days=value)
        day = moment.astimezone(world.zone).date()
        if operator == "between":
            return date.fromisoformat(value[0]) <= day <= date.fromisoformat(value[1])
        wanted = date.fromisoformat(value)
        return {"on": day == wanted, "before": day < wanted, "after": day > wanted}[operator]
    if kind == "tags":
        wanted = {value} if operator == "has" else set(value)
        if operator == "has_all":
            return wanted <= row["tags"]
        return bool(wanted & row["tags"])
    if kind == "deal_stage":
        return any(d["stage"] == value for d in row["deals"])
    if kind == "segment":
        return value in row["segments"]
    raise AssertionError(f"no reference for {field} {operator}")


def evaluate(row: dict, node: dict, world: World) -> bool:
    if "conditions" not in node:
        return decide(row, node["field"], node["operator"], node["value"], world)
    results = [evaluate(row, child, world) for child in node["conditions"]]
    if not results:
        return False
    match = node.get("match", "all")
    if match == "all":
        return all(results)
    return any(results) if match == "any" else not any(results)


def keeps(row: dict, criteria: dict, world: World) -> bool:
    """A manual member stays if it meets one top-level condition (its negation under none)."""
    top = criteria["conditions"]
    if not top:
        return True
    flip = criteria["match"] == "none"
    return any(evaluate(row, child, world) != flip for child in top)


# --- strategies -------------------------------------------------------------------------------


@st.composite
def values_for(draw, field: str, shape: str, world: World):
    f = FIELDS[field]
    if shape == "none":
        return None
    if shape in ("text", "text_list"):
        # whole values of the field in any case, or fragments: equals and contains differ
        whole = sorted({row[field] for row in world.rows if row[field]})
        text = st.builds(
            lambda value, case: case(value),
            st.one_of(st.sampled_from(whole), st.sampled_from(TEXT_POOL)),
            st.sampled_from([str.lower, str.upper, str.strip]),
        )
        return draw(text if shape == "text" else st.lists(text, min_size=1, max_size=3))
    if shape == "number":
        return draw(st.sampled_from(NUMBERS))
    if shape == "number_range":
        return sorted(draw(st.lists(st.sampled_from(NUMBERS), min_size=2, max_size=2)))
    if shape == "date":
        return draw(st.sampled_from(DATES))
    if shape == "date_range":
        return sorted(draw(st.lists(st.sampled_from(DATES), min_size=2, max_size=2)))
    if shape == "days":
        return draw(st.sampled_from(DAYS))
    choices = {
        "country": COUNTRIES[:-1],
        "lifecycle_stage": STAGES,
        "source": SOURCES[:2] + SOURCES[3:],
        "deal_stage": DEAL_STAGES,
    }.get(field) or [c["value"] for c in f.choices()]
    pools = {
        "choice": choices,
        "choice_list": choices,
        "user": world.user_ids,
        "user_list": world.user_ids,
        "tag": world.tag_ids,
        "tag_list": world.tag_ids,
        "segment": [world.segment_id],
    }
    pool = pools[shape]
    if shape.endswith("_list"):
        return draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
    return draw(st.sampled_from(pool))


# Every (field, operator) pair equally likely, so rare operators are drawn as often as common ones.
PAIRS = [(name, operator) for name, f in FIELDS.items() for operator in f.operators]


@st.composite
def conditions(draw, world: World):
    field, operator = draw(st.sampled_from(PAIRS))
    shape = FIELDS[field].operators[operator].value
    return {"field": field, "operator": operator, "value": draw(values_for(field, shape, world))}


@st.composite
def trees(draw, world: World, max_conditions: int = 6, max_depth: int = 3):
    budget = [draw(st.integers(0, max_conditions))]

    def group(depth: int) -> dict:
        children = []
        wanted = draw(st.integers(1, 3))
        while len(children) < wanted and budget[0] > 0:
            if depth < max_depth and budget[0] >= 2 and draw(st.booleans()):
                child = group(depth + 1)
                if child["conditions"]:
                    children.append(child)
            else:
                budget[0] -= 1
                children.append(draw(conditions(world)))
        return {"match": draw(st.sampled_from(["all", "any", "none"])), "conditions": children}

    return group(1)


@pytest.fixture
def world(db, settings, rep, manager) -> World:
    settings.TIME_ZONE = ZONE
    return build_world([rep, manager])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_sql_selects_what_the_reference_evaluator_selects(world, data):
    criteria = validate_criteria(data.draw(trees(world)))
    ctx = context(world.now)

    in_sql = set(
        Contact.objects.filter(compile_criteria(criteria, ctx)).values_list("pk", flat=True)
    )
    kept_sql = set(Contact.objects.filter(compile_keep(criteria, ctx)).values_list("pk", flat=True))

    assert in_sql == {row["id"] for row in world.rows if evaluate(row, criteria, world)}
    assert kept_sql == {row["id"] for row in world.rows if keeps(row, criteria, world)}
