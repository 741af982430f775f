"""Checking a criteria tree against the registry, with messages that name the path.

`validate_criteria` returns the tree normalised (match defaulted, list values
de-duplicated) or raises CriteriaError listing every problem, e.g.
`conditions[1].operator: 'greater_than' is not an operator for choice field
'country'; use one of equals, not_equals, …`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError

from accounts.models import User
from core.filtersets import BIGINT_MAX
from segments.criteria.registry import (
    FIELDS,
    MATCHES,
    MAX_CONDITIONS,
    MAX_DAYS,
    MAX_DEPTH,
    MAX_LIST_VALUES,
    MAX_TEXT_LENGTH,
    Field,
)
from segments.models import CriteriaReference, Segment
from tags.models import Tag

GROUP_KEYS = {"match", "conditions"}
CONDITION_KEYS = {"field", "operator", "value"}
REFERENCE_SHAPES = {"user": "user", "user_list": "user", "tag": "tag", "tag_list": "tag"}
DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_MESSAGES = 25
# Values the compiler can turn into SQL on both databases. Dates go to a day's start in
# TIME_ZONE and a day past it ("after", "between"), so the calendar's ends overflow;
# numbers beyond a double's exact integers, or ids beyond a 64-bit column, cannot be
# compared on SQLite (OverflowError) and make every sync of the segment fail.
MIN_DATE, MAX_DATE = date(1000, 1, 1), date(9998, 12, 31)
MAX_NUMBER = 10**15


class CriteriaError(ValidationError):
    """Criteria that cannot be saved or evaluated; `messages` lists each problem with its path."""


class ShapeError(ValueError):
    pass


@dataclass
class _Walk:
    errors: list[str] = field(default_factory=list)
    conditions: int = 0
    # kind -> id -> paths of the values naming it
    references: dict[str, dict[int, list[str]]] = field(
        default_factory=lambda: {"tag": {}, "user": {}, "segment": {}}
    )


def _show(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _quote(value: Any) -> str:
    """A name as the messages write it: 'country'."""
    return f"'{value}'" if isinstance(value, str) else _show(value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# --- value shapes -----------------------------------------------------------------------------


def _text(value: Any, f: Field) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ShapeError(f"expected a non-empty string, got {_show(value)}")
    if len(value) > MAX_TEXT_LENGTH:
        raise ShapeError(f"at most {MAX_TEXT_LENGTH} characters, got {len(value)}")
    if "\x00" in value:
        # PostgreSQL can store NUL neither in jsonb nor compare it with text.
        raise ShapeError("the text contains a null character (\\x00); remove it")
    return value


def _list(item: Callable[[Any, Field], Any]) -> Callable[[Any, Field], list]:
    def check(value: Any, f: Field) -> list:
        if not isinstance(value, list) or not value:
            raise ShapeError(f"expected a non-empty list, got {_show(value)}")
        if len(value) > MAX_LIST_VALUES:
            raise ShapeError(f"at most {MAX_LIST_VALUES} values, got {len(value)}")
        items = []
        for index, raw in enumerate(value):
            try:
                checked = item(raw, f)
            except ShapeError as exc:
                raise ShapeError(f"item {index}: {exc}") from exc
            if checked not in items:
                items.append(checked)
        return items

    return check


def _number(value: Any, f: Field) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ShapeError(f"expected a number, got {_show(value)}")
    # An int is compared first: math.isfinite cannot take one of a few hundred digits.
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > MAX_NUMBER:
        raise ShapeError(
            f"expected a number from -{MAX_NUMBER:,} to {MAX_NUMBER:,}, got {_show(value)}"
        )
    return value


def _pair(item: Callable[[Any, Field], Any], what: str) -> Callable[[Any, Field], list]:
    def check(value: Any, f: Field) -> list:
        if not isinstance(value, list) or len(value) != 2:
            raise ShapeError(f"expected [{what}, {what}], got {_show(value)}")
        low, high = item(value[0], f), item(value[1], f)
        if low > high:
            raise ShapeError(f"the first {what} must not be after the second, got {_show(value)}")
        return [low, high]

    return check


def _date(value: Any, f: Field) -> str:
    if isinstance(value, str) and DATE_FORMAT.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if not MIN_DATE <= day <= MAX_DATE:
                raise ShapeError(
                    f"expected a date from {MIN_DATE.isoformat()} to {MAX_DATE.isoformat()}, "
                    f"got {_show(value)}"
                )
            return day.isoformat()
    raise ShapeError(f"expected a date as YYYY-MM-DD, got {_show(value)}")


def _days(value: Any, f: Field) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
        raise ShapeError(
            f"expected a whole number of days from 1 to {MAX_DAYS}, got {_show(value)}"
        )
    return value


def _choice(value: Any, f: Field) -> str:
    allowed = [choice["value"] for choice in f.choices()]
    if value not in allowed:
        shown = ", ".join(str(v) for v in allowed[:12]) + (", …" if len(allowed) > 12 else "")
        raise ShapeError(f"{_show(value)} is not a choice of '{f.name}'; use one of {shown}")
    return value


def _identifier(value: Any, f: Field) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= BIGINT_MAX:
        raise ShapeError(f"expected an id (a positive whole number), got {_show(value)}")
    return value


def _none(value: Any, f: Field) -> None:
    if value is not None:
        raise ShapeError(f"this operator takes no value, got {_show(value)}")


SHAPES: dict[str, Callable[[Any, Field], Any]] = {
    "none": _none,
    "text": _text,
    "text_list": _list(_text),
    "number": _number,
    "number_range": _pair(_number, "number"),
    "date": _date,
    "date_range": _pair(_date, "date"),
    "days": _days,
    "choice": _choice,
    "choice_list": _list(_choice),
    "user": _identifier,
    "user_list": _list(_identifier),
    "tag": _identifier,
    "tag_list": _list(_identifier),
    "segment": _identifier,
}


# --- the tree ---------------------------------------------------------------------------------


def _group(node: Any, path: str, depth: int, walk: _Walk) -> dict:
    where = path or "criteria"
    if not isinstance(node, dict):
        walk.errors.append(f"{where}: expected an object with 'match' and 'conditions'")
        return {}
    for key in sorted(set(node) - GROUP_KEYS):
        walk.errors.append(f"{_join(path, key)}: unknown key; a group has 'match' and 'conditions'")
    match = node.get("match", "all")
    # Not a string (e.g. a list or object) is a wrong value, not a crash on hashing it.
    if not isinstance(match, str) or match not in MATCHES:
        walk.errors.append(
            f"{_join(path, 'match')}: {_quote(match)} is not a way to match; use all, any or none"
        )
    conditions = node.get("conditions", [])
    if not isinstance(conditions, list):
        walk.errors.append(f"{_join(path, 'conditions')}: expected a list")
        conditions = []
    if depth > 1 and not conditions:
        walk.errors.append(f"{_join(path, 'conditions')}: a group needs at least one condition")
    children = []
    for index, child in enumerate(conditions):
        child_path = f"{_join(path, 'conditions')}[{index}]"
        if isinstance(child, dict) and GROUP_KEYS & set(child) and "field" not in child:
            if depth >= MAX_DEPTH:
                walk.errors.append(f"{child_path}: groups nest at most {MAX_DEPTH} levels deep")
                continue
            children.append(_group(child, child_path, depth + 1, walk))
        else:
            children.append(_condition(child, child_path, walk))
    return {"match": match, "conditions": children}


def _condition(node: Any, path: str, walk: _Walk) -> dict:
    walk.conditions += 1
    if walk.conditions > MAX_CONDITIONS:
        return {}  # only counted: the size is the problem to fix first
    if not isinstance(node, dict):
        walk.errors.append(
            f"{path}: expected a condition {{field, operator, value}} or a group "
            f"{{match, conditions}}, got {_show(node)}"
        )
        return {}
    for key in sorted(set(node) - CONDITION_KEYS):
        walk.errors.append(
            f"{_join(path, key)}: unknown key; a condition has 'field', 'operator' and 'value'"
        )
    name = node.get("field")
    f = FIELDS.get(name) if isinstance(name, str) else None
    if f is None:
        walk.errors.append(
            f"{path}.field: {_quote(name)} is not a field; use one of {', '.join(FIELDS)}"
        )
        return {}
    operator = node.get("operator")
    op = f.operators.get(operator) if isinstance(operator, str) else None
    if op is None:
        kind = f.type.replace("_", " ")
        walk.errors.append(
            f"{path}.operator: {_quote(operator)} is not an operator for {kind} "
            f"field '{f.name}'; use one of {', '.join(f.operators)}"
        )
        return {}
    try:
        value = SHAPES[op.value](node.get("value"), f)
    except ShapeError as exc:
        walk.errors.append(f"{path}.value: {exc}")
        return {}
    kind = _reference_kind(op.value)
    if kind:
        for identifier in value if isinstance(value, list) else [value]:
            walk.references[kind].setdefault(identifier, []).append(f"{path}.value")
    return {"field": f.name, "operator": op.name, "value": value}


def _check_references(walk: _Walk, segment_id: int | None) -> None:
    models = {"tag": Tag, "user": User, "segment": Segment}
    for kind, wanted in walk.references.items():
        if not wanted:
            continue
        found = set(models[kind].objects.filter(pk__in=wanted).values_list("pk", flat=True))
        for identifier, paths in wanted.items():
            if identifier not in found:
                walk.errors.extend(f"{p}: {kind} {identifier} does not exist" for p in paths)
    used_segments = walk.references["segment"]
    if segment_id is None or not used_segments:
        return
    for identifier, paths in used_segments.items():
        if identifier == segment_id:
            walk.errors.extend(f"{p}: a segment cannot test membership of itself" for p in paths)
        elif (chain := _path_back(identifier, segment_id)) is not None:
            names = " → ".join(f"“{name}”" for name in chain)
            walk.errors.extend(
                f"{p}: segment {names} already depends on this segment, "
                "so using it here would make a cycle"
                for p in paths
            )


def _path_back(start: int, target: int) -> list[str] | None:
    """Names of the segments from `start` to `target` along criteria references, if any."""
    parents: dict[int, int | None] = {start: None}
    frontier = [start]
    while frontier and target not in parents:
        edges = CriteriaReference.objects.filter(
            segment_id__in=frontier, target__isnull=False
        ).values_list("segment_id", "target_id")
        frontier = []
        for source, goes_to in edges:
            if goes_to not in parents:
                parents[goes_to] = source
                frontier.append(goes_to)
    if target not in parents:
        return None
    chain, node = [], parents[target]
    while node is not None:
        chain.append(node)
        node = parents[node]
    names = dict(Segment.objects.filter(pk__in=chain).values_list("pk", "name"))
    return [names.get(pk, str(pk)) for pk in reversed(chain)]


def validate_criteria(raw: Any, *, segment_id: int | None = None) -> dict:
    """The criteria, normalised; CriteriaError when anything is wrong (nothing is saved then).

    `segment_id` is the segment the criteria belong to, when it exists already:
    it may not use itself, directly or through other segments.
    """
    walk = _Walk()
    criteria = _group(raw if raw is not None else {}, "", 1, walk)
    if walk.conditions > MAX_CONDITIONS:
        walk.errors.insert(
            0,
            f"conditions: at most {MAX_CONDITIONS} conditions in all; these have {walk.conditions}",
        )
    if not walk.errors:
        _check_references(walk, segment_id)
    if walk.errors:
        raise CriteriaError(_capped(walk.errors))
    return criteria


def _capped(errors: list[str]) -> list[str]:
    """The first MAX_MESSAGES problems: beyond that a list helps no one read or fix it."""
    if len(errors) <= MAX_MESSAGES:
        return errors
    more = len(errors) - MAX_MESSAGES
    return [*errors[:MAX_MESSAGES], f"… and {more} more problem{'s' if more > 1 else ''}."]


def _reference_kind(value_shape: str) -> str | None:
    """What a condition's value names ("tag", "user", "segment"), by its value shape."""
    return "segment" if value_shape == "segment" else REFERENCE_SHAPES.get(value_shape)


def criteria_references(criteria: dict) -> dict[str, set[int]]:
    """The tag, user and segment ids valid criteria name, by kind."""
    found: dict[str, set[int]] = {"tag": set(), "user": set(), "segment": set()}

    def visit(node: dict) -> None:
        if "conditions" in node:
            for child in node["conditions"]:
                visit(child)
            return
        op = FIELDS[node["field"]].operators[node["operator"]]
        kind = _reference_kind(op.value)
        if kind:
            value = node["value"]
            found[kind].update(value if isinstance(value, list) else [value])

    visit(criteria)
    return found


def uses_relative_dates(criteria: dict) -> bool:
    """Whether a condition compares a date with "now" (its value is a number of days),
    so that contacts cross it as time passes without any change of their own."""
    for node in criteria.get("conditions") or []:
        if "conditions" in node:
            if uses_relative_dates(node):
                return True
            continue
        field = FIELDS.get(node.get("field"))
        operator = field.operators.get(node.get("operator")) if field else None
        if operator is not None and operator.value == "days":
            return True
    return False
