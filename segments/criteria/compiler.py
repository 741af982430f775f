"""The one compiler from a (validated) criteria tree to a Django `Q` over contacts.

Groups become AND / OR / NOT-OR; each condition is built by its field's type in
the registry. A negative operator is compiled as NOT of its positive one, whose
conditions are two-valued (never NULL), so the two always split the contacts.
"""

from __future__ import annotations

from datetime import datetime
from functools import reduce
from operator import and_, or_
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from contacts.models import Contact
from segments.criteria.registry import FIELDS, Context, nothing


def context(now: datetime | None = None, *, few_contacts: bool = False) -> Context:
    """Evaluate at `now` (default: this moment) with calendar dates in settings.TIME_ZONE;
    `few_contacts` when only a few are evaluated (a live update), which plans differently."""
    return Context(
        now=now or timezone.now(), zone=ZoneInfo(settings.TIME_ZONE), few_contacts=few_contacts
    )


def _node(node: dict, ctx: Context) -> Q:
    if "conditions" in node:
        return _group(node, ctx)
    field = FIELDS[node["field"]]
    operator = field.operators[node["operator"]]
    if operator.negates:
        return ~field.build(operator.negates, node["value"], ctx)
    return field.build(operator.name, node["value"], ctx)


def _group(node: dict, ctx: Context) -> Q:
    parts = [_node(child, ctx) for child in node["conditions"]]
    if not parts:
        return nothing()
    match = node.get("match", "all")
    if match == "all":
        return reduce(and_, parts)
    either = reduce(or_, parts)
    return ~either if match == "none" else either


def has_conditions(criteria: dict) -> bool:
    return bool(criteria.get("conditions"))


def compile_criteria(criteria: dict, ctx: Context | None = None) -> Q:
    """The contacts the criteria select. No conditions select no one: the segment is a
    hand-made list."""
    return _group(criteria, ctx or context())


def compile_keep(criteria: dict, ctx: Context | None = None) -> Q:
    """What a manually added member must still match to stay through a sync.

    At least one top-level condition, each on its own (a nested group counts as
    one). Under `match: none` each condition counts as its negation, which is
    what it demands there. No conditions keep every manual addition.
    """
    ctx = ctx or context()
    conditions = criteria.get("conditions") or []
    if not conditions:
        return Q()
    parts = [_node(child, ctx) for child in conditions]
    if criteria.get("match") == "none":
        parts = [~part for part in parts]
    return reduce(or_, parts)


def matching_contacts(criteria: dict, ctx: Context | None = None) -> QuerySet:
    return Contact.objects.filter(compile_criteria(criteria, ctx))
