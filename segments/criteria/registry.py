"""The field registry: every field segment criteria can test, and how.

Each field has a type; each type lists its operators, the value shape each
operator takes, and how a positive operator becomes a Django `Q`. Negative
operators name the positive one they complement and are never built on their
own (segments.criteria.compiler negates the positive condition), so "not X"
always matches exactly the contacts "X" does not, empty values included.

Validation, the compiler, `GET /api/crm/segments/fields` and the UI builder all
read this module; a field added here appears everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import reduce
from operator import and_, or_
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    Expression,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django_countries import countries

from accounts.models import User
from contacts.choices import LifecycleStage, Source
from contacts.models import Contact
from deals.choices import CLOSED_STAGES, DealStage
from deals.models import Deal
from segments.models import Segment, SegmentMember
from tags.models import ContactTag, Tag

MAX_DEPTH = 4
MAX_CONDITIONS = 100
MAX_LIST_VALUES = 100
MAX_TEXT_LENGTH = 200
MAX_DAYS = 36_500
MATCHES = {
    "all": "all of the conditions",
    "any": "any of the conditions",
    "none": "none of the conditions",
}


@dataclass(frozen=True)
class Context:
    """What a compilation is evaluated against: the time of the sync and the calendar's zone.

    `few_contacts`: the criteria are evaluated for a handful of contacts (a live update),
    not all of them (a sync), which changes the best way to test tags and memberships.
    """

    now: datetime
    zone: ZoneInfo
    few_contacts: bool = False

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.zone)


# --- value shapes -----------------------------------------------------------------------------

# What each operator's `value` must look like; shown by the fields endpoint.
VALUE_SHAPES = {
    "none": "no value (omit it or send null)",
    "text": f"a non-empty string of at most {MAX_TEXT_LENGTH} characters",
    "text_list": f"a list of 1 to {MAX_LIST_VALUES} non-empty strings",
    "number": "a number",
    "number_range": "[low, high]: two numbers, low ≤ high, both included",
    "date": "a calendar date, YYYY-MM-DD",
    "date_range": "[first, last]: two dates YYYY-MM-DD, first ≤ last, both included",
    "days": f"a whole number of days from 1 to {MAX_DAYS}",
    "choice": "one of the field's choices",
    "choice_list": f"a list of 1 to {MAX_LIST_VALUES} of the field's choices",
    "user": "a user id",
    "user_list": f"a list of 1 to {MAX_LIST_VALUES} user ids",
    "tag": "a tag id",
    "tag_list": f"a list of 1 to {MAX_LIST_VALUES} tag ids",
    "segment": "a segment id",
}


# --- operators and types ----------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    name: str
    label: str
    value: str  # a key of VALUE_SHAPES
    negates: str | None = None  # the positive operator this one is the complement of


Builder = Callable[["Field", str, Any, Context], Q]


@dataclass(frozen=True)
class FieldType:
    name: str
    operators: dict[str, Operator]
    build: Builder  # builds the positive operators only


def _operators(*ops: Operator) -> dict[str, Operator]:
    return {op.name: op for op in ops}


def _lookup(target: str | Callable[[], Expression], lookup: str, value: Any) -> Q:
    """`target <lookup> value` as a Q that is never NULL.

    A column gets a plain field lookup (plus IS NOT NULL when it is nullable, so
    the condition is two-valued); an expression gets the lookup object itself.
    """
    if isinstance(target, str):
        condition = Q(**{f"{target}__{lookup}": value})
        if lookup != "isnull" and Contact._meta.get_field(target).null:
            condition &= Q(**{f"{target}__isnull": False})
        return condition
    expression = target()
    return Q(expression.output_field.get_lookup(lookup)(expression, value))


def _any_of(conditions: list[Q]) -> Q:
    return reduce(or_, conditions)


def nothing() -> Q:
    """A condition no contact meets (the primary key is never NULL)."""
    return Q(pk__isnull=True)


def _is_empty(target: str) -> Q:
    """Empty means NULL where the column allows it, and '' for text columns."""
    model_field = Contact._meta.get_field(target)
    conditions = []
    if model_field.null:
        conditions.append(Q(**{f"{target}__isnull": True}))
    if model_field.empty_strings_allowed:
        conditions.append(Q(**{target: ""}))
    return _any_of(conditions) if conditions else nothing()


def build_text(field: Field, operator: str, value: Any, ctx: Context) -> Q:
    column = field.target
    if operator == "is_empty":
        return _is_empty(column)
    if operator == "in":
        return _any_of([_lookup(column, "iexact", item) for item in value])
    lookup = {
        "equals": "iexact",
        "contains": "icontains",
        "starts_with": "istartswith",
        "ends_with": "iendswith",
    }[operator]
    return _lookup(column, lookup, value)


NUMBER_LOOKUPS = {
    "equals": "exact",
    "greater_than": "gt",
    "greater_or_equal": "gte",
    "less_than": "lt",
    "less_or_equal": "lte",
}


def build_number(field: Field, operator: str, value: Any, ctx: Context) -> Q:
    if operator == "is_empty":
        if isinstance(field.target, str):
            return _is_empty(field.target)
        return nothing()  # derived numbers always have a value (0 when nothing counts)
    if field.decimal:
        value = [Decimal(str(v)) for v in value] if operator == "between" else Decimal(str(value))
    if operator == "between":
        return _lookup(field.target, "range", tuple(value))
    return _lookup(field.target, NUMBER_LOOKUPS[operator], value)


def build_datetime(field: Field, operator: str, value: Any, ctx: Context) -> Q:
    column = field.target

    def start(text: str, plus_days: int = 0) -> datetime:
        return ctx.day_start(date.fromisoformat(text) + timedelta(days=plus_days))

    if operator == "is_empty":
        return _is_empty(column)
    if operator == "in_last_days":
        return _lookup(column, "gte", ctx.now - timedelta(days=value))
    if operator == "before":
        return _lookup(column, "lt", start(value))
    if operator == "after":
        return _lookup(column, "gte", start(value, 1))
    first, last = (value, value) if operator == "on" else value
    return _lookup(column, "gte", start(first)) & _lookup(column, "lt", start(last, 1))


def build_choice(field: Field, operator: str, value: Any, ctx: Context) -> Q:
    if operator == "is_empty":
        return _is_empty(field.target)
    return _lookup(field.target, "in" if operator == "in" else "exact", value)


def _contacts_listed_in(rows: QuerySet, contact_column: str, ctx: Context) -> Q:
    """Contacts whose id appears in `rows`' `contact_column` (tag links, memberships).

    PostgreSQL plans EXISTS as a semi-join (NOT EXISTS as an anti-join) and hashes
    either side as it sees fit. SQLite runs a correlated EXISTS once per contact: a
    million index probes for a 3 % tag (a 30,000-member sync at 1 M contacts took 9.4 s;
    the same INSERT with `id IN (SELECT …)` 0.6 s, reading the (tag, record) index
    once). NOT IN is that list, probed from a temporary index. For a few contacts (a
    live update) it is the other way round: a probe each beats listing every link of
    the tag (11,000 rows for a common tag at 100,000 contacts) in every statement.
    """
    if connection.vendor == "sqlite" and not ctx.few_contacts:
        return Q(pk__in=rows.values(contact_column))
    return Q(Exists(rows.filter(**{contact_column: OuterRef("pk")})))


def _has_tags(tag_ids: list[int], ctx: Context) -> Q:
    return _contacts_listed_in(ContactTag.objects.filter(tag_id__in=tag_ids), "record_id", ctx)


def build_tags(field: Field, operator: str, value: Any, ctx: Context) -> Q:
    if operator == "has":
        return _has_tags([value], ctx)
    if operator == "has_any":
        return _has_tags(value, ctx)
    return reduce(and_, [_has_tags([tag_id], ctx) for tag_id in value])  # has_all


def build_deal_stage(field: Field, operator: str, value: Any, ctx: Context) -> Q:
    return Q(Exists(Deal.objects.filter(contact=OuterRef("pk"), stage=value)))


def build_segment(field: Field, operator: str, value: Any, ctx: Context) -> Q:
    return _contacts_listed_in(SegmentMember.objects.filter(segment_id=value), "contact_id", ctx)


EQUALITY = [
    Operator("equals", "equals", "{one}"),
    Operator("not_equals", "does not equal", "{one}", negates="equals"),
]
LISTS = [
    Operator("in", "is one of", "{many}"),
    Operator("not_in", "is none of", "{many}", negates="in"),
]
EMPTINESS = [
    Operator("is_empty", "is empty", "none"),
    Operator("is_not_empty", "is not empty", "none", negates="is_empty"),
]


def _shaped(ops: list[Operator], one: str, many: str = "") -> list[Operator]:
    return [
        Operator(op.name, op.label, op.value.format(one=one, many=many), op.negates) for op in ops
    ]


TYPES: dict[str, FieldType] = {
    "text": FieldType(
        "text",
        _operators(
            *_shaped(EQUALITY, "text"),
            Operator("contains", "contains", "text"),
            Operator("not_contains", "does not contain", "text", negates="contains"),
            Operator("starts_with", "starts with", "text"),
            Operator("ends_with", "ends with", "text"),
            *_shaped(LISTS, "text", "text_list"),
            *EMPTINESS,
        ),
        build_text,
    ),
    "number": FieldType(
        "number",
        _operators(
            *_shaped(EQUALITY, "number"),
            Operator("greater_than", "greater than", "number"),
            Operator("greater_or_equal", "at least", "number"),
            Operator("less_than", "less than", "number"),
            Operator("less_or_equal", "at most", "number"),
            Operator("between", "between", "number_range"),
            *EMPTINESS,
        ),
        build_number,
    ),
    "datetime": FieldType(
        "datetime",
        _operators(
            Operator("on", "on", "date"),
            Operator("before", "before", "date"),
            Operator("after", "after", "date"),
            Operator("between", "between", "date_range"),
            Operator("in_last_days", "in the last N days", "days"),
            Operator("not_in_last_days", "not in the last N days", "days", negates="in_last_days"),
            *EMPTINESS,
        ),
        build_datetime,
    ),
    "choice": FieldType(
        "choice",
        _operators(
            *_shaped(EQUALITY, "choice"), *_shaped(LISTS, "choice", "choice_list"), *EMPTINESS
        ),
        build_choice,
    ),
    "user": FieldType(
        "user",
        _operators(*_shaped(EQUALITY, "user"), *_shaped(LISTS, "user", "user_list"), *EMPTINESS),
        build_choice,
    ),
    "tags": FieldType(
        "tags",
        _operators(
            Operator("has", "has", "tag"),
            Operator("has_not", "does not have", "tag", negates="has"),
            Operator("has_any", "has any of", "tag_list"),
            Operator("has_all", "has all of", "tag_list"),
            Operator("has_none", "has none of", "tag_list", negates="has_any"),
        ),
        build_tags,
    ),
    "deal_stage": FieldType(
        "deal_stage",
        _operators(
            Operator("has", "has a deal in", "choice"),
            Operator("has_not", "has no deal in", "choice", negates="has"),
        ),
        build_deal_stage,
    ),
    "segment": FieldType(
        "segment",
        _operators(
            Operator("in_segment", "is a member of", "segment"),
            Operator("not_in_segment", "is not a member of", "segment", negates="in_segment"),
        ),
        build_segment,
    ),
}


# --- derived numbers --------------------------------------------------------------------------


def _per_contact(deals, aggregate) -> Subquery:
    return Subquery(
        deals.filter(contact=OuterRef("pk"))
        .order_by()
        .values("contact")
        .annotate(v=aggregate)
        .values("v")
    )


def deals_count() -> Expression:
    return Coalesce(
        _per_contact(Deal.objects.all(), Count("pk")), Value(0), output_field=IntegerField()
    )


def open_deals_count() -> Expression:
    open_deals = Deal.objects.exclude(stage__in=CLOSED_STAGES)
    return Coalesce(_per_contact(open_deals, Count("pk")), Value(0), output_field=IntegerField())


def won_deals_value() -> Expression:
    won = Deal.objects.filter(stage=DealStage.WON)
    money = DecimalField(max_digits=16, decimal_places=2)
    return Coalesce(_per_contact(won, Sum("value")), Value(Decimal(0)), output_field=money)


# --- fields -----------------------------------------------------------------------------------


Choices = Callable[[], list[dict[str, Any]]]


def _static_choices(pairs) -> Choices:
    return lambda: [{"value": value, "label": str(label)} for value, label in pairs]


def _country_choices() -> list[dict[str, Any]]:
    return [{"value": code, "label": str(name)} for code, name in countries]


def _user_choices() -> list[dict[str, Any]]:
    return [
        {"value": user.pk, "label": str(user)}
        for user in User.objects.filter(is_active=True).order_by("username")
    ]


def _tag_choices() -> list[dict[str, Any]]:
    return [{"value": tag.pk, "label": tag.name, "color": tag.color} for tag in Tag.objects.all()]


def _segment_choices() -> list[dict[str, Any]]:
    return [{"value": s.pk, "label": s.name} for s in Segment.objects.only("pk", "name")]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str  # a key of TYPES
    # A Contact column, or a function returning an expression per contact (derived numbers).
    target: str | Callable[[], Expression] | None = None
    choices: Choices | None = None
    decimal: bool = False
    help: str = ""
    operators: dict[str, Operator] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "operators", TYPES[self.type].operators)

    def build(self, operator: str, value: Any, ctx: Context) -> Q:
        return TYPES[self.type].build(self, operator, value, ctx)


FIELDS: dict[str, Field] = {
    f.name: f
    for f in [
        Field("first_name", "First name", "text", "first_name"),
        Field("last_name", "Last name", "text", "last_name"),
        Field("email", "Email", "text", "email"),
        Field("phone", "Phone", "text", "phone"),
        Field("company", "Company", "text", "company"),
        Field("job_title", "Job title", "text", "job_title"),
        Field("city", "City", "text", "city"),
        Field("country", "Country", "choice", "country", _country_choices),
        Field(
            "lifecycle_stage",
            "Lifecycle stage",
            "choice",
            "lifecycle_stage",
            _static_choices(LifecycleStage.choices),
        ),
        Field("source", "Source", "choice", "source", _static_choices(Source.choices)),
        Field("lead_score", "Lead score", "number", "lead_score"),
        Field("deals_count", "Number of deals", "number", deals_count, help="All deals."),
        Field(
            "open_deals_count",
            "Number of open deals",
            "number",
            open_deals_count,
            help="Deals not won or lost.",
        ),
        Field(
            "won_deals_value",
            "Value of won deals",
            "number",
            won_deals_value,
            decimal=True,
            help="Sum of the values of won deals; 0 without any.",
        ),
        Field("created_at", "Created", "datetime", "created_at"),
        Field("updated_at", "Updated", "datetime", "updated_at"),
        Field("last_activity_at", "Last activity", "datetime", "last_activity_at"),
        Field("owner", "Owner", "user", "owner", _user_choices),
        Field("tags", "Tags", "tags", choices=_tag_choices),
        Field(
            "deal_stage",
            "Deal stage",
            "deal_stage",
            choices=_static_choices(DealStage.choices),
            help="Has at least one deal in the stage.",
        ),
        Field(
            "segment",
            "Segment",
            "segment",
            choices=_segment_choices,
            help="Membership as of that segment's last sync.",
        ),
    ]
}


def _choices(f, user) -> list | None:
    if not f.choices:
        return None
    # Tag names and colours are "view crm tags"' to show (#15 M5); criteria naming a tag
    # still validate, by id.
    if f.type == "tags" and user is not None and not user.has_perm("tags.view_tag"):
        return []
    return f.choices()


def describe_registry(user=None) -> dict[str, Any]:
    """The registry as data, for the fields endpoint and the UI builder; with `user`, only
    the choices that user may see."""
    return {
        "matches": [{"value": key, "label": label} for key, label in MATCHES.items()],
        "max_depth": MAX_DEPTH,
        "max_conditions": MAX_CONDITIONS,
        "value_shapes": VALUE_SHAPES,
        "fields": [
            {
                "name": f.name,
                "label": f.label,
                "type": f.type,
                "help": f.help,
                "operators": [
                    {
                        "name": op.name,
                        "label": op.label,
                        "value": op.value,
                        "negates": op.negates,
                    }
                    for op in f.operators.values()
                ],
                "choices": _choices(f, user),
            }
            for f in FIELDS.values()
        ],
    }
