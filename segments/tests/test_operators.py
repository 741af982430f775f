"""Every field and operator of the registry, on the cast from conftest, empty values included."""

from datetime import UTC, datetime

import pytest

from segments import services
from segments.criteria import FIELDS
from segments.tests.conftest import condition, make_contact, matches

# Values written "tag:<name>", "user:<role>" or "segment:<name>" stand for that object's id.
CASES = [
    # text: case-insensitive, empty values count as not matching the positive operator
    ("first_name", "equals", "ann", {"Ann"}),
    ("first_name", "not_equals", "ANN", {"Bob", "Cy", "Dee"}),
    ("last_name", "equals", "ARCHER", {"Ann"}),
    ("last_name", "not_equals", "archer", {"Bob", "Cy", "Dee"}),
    ("company", "contains", "acme", {"Ann", "Dee"}),
    ("company", "not_contains", "ACME", {"Bob", "Cy"}),
    ("company", "contains", "Ac_e", set()),  # LIKE wildcards are literal
    ("company", "contains", "%", set()),
    ("email", "starts_with", "ANN@", {"Ann"}),
    ("email", "ends_with", "@ACME.example", {"Ann", "Dee"}),
    ("city", "in", ["BOSTON", "paris"], {"Ann", "Dee"}),
    ("company", "in", ["acme"], {"Ann"}),  # whole values only, unlike contains
    ("city", "not_in", ["boston", "Paris"], {"Bob", "Cy"}),
    ("phone", "is_empty", None, {"Cy", "Dee"}),
    ("phone", "is_not_empty", None, {"Ann", "Bob"}),
    ("job_title", "starts_with", "c", {"Ann", "Dee"}),
    # choice
    ("country", "equals", "US", {"Ann", "Dee"}),
    ("country", "not_equals", "US", {"Bob", "Cy"}),
    ("country", "in", ["GB", "FR"], {"Bob"}),
    ("country", "not_in", ["GB", "FR"], {"Ann", "Cy", "Dee"}),
    ("country", "is_empty", None, {"Cy"}),
    ("country", "is_not_empty", None, {"Ann", "Bob", "Dee"}),
    ("lifecycle_stage", "equals", "lead", {"Ann", "Cy"}),
    ("lifecycle_stage", "in", ["customer", "subscriber"], {"Bob", "Dee"}),
    ("lifecycle_stage", "is_empty", None, set()),
    ("source", "equals", "website", {"Ann"}),
    ("source", "not_equals", "website", {"Bob", "Cy", "Dee"}),
    ("source", "is_empty", None, {"Cy"}),
    # number
    ("lead_score", "equals", 75, {"Cy"}),
    ("lead_score", "not_equals", 75, {"Ann", "Bob", "Dee"}),
    ("lead_score", "greater_than", 70, {"Ann", "Cy"}),
    ("lead_score", "greater_or_equal", 75, {"Ann", "Cy"}),
    ("lead_score", "less_than", 40, {"Dee"}),
    ("lead_score", "less_or_equal", 40, {"Bob", "Dee"}),
    ("lead_score", "between", [40, 75], {"Bob", "Cy"}),
    ("lead_score", "greater_than", 70.5, {"Ann", "Cy"}),
    ("lead_score", "is_empty", None, set()),
    ("lead_score", "is_not_empty", None, {"Ann", "Bob", "Cy", "Dee"}),
    ("deals_count", "equals", 0, {"Cy"}),
    ("deals_count", "greater_than", 1, {"Bob", "Dee"}),
    ("deals_count", "equals", 3, {"Dee"}),
    ("deals_count", "not_equals", 0, {"Ann", "Bob", "Dee"}),
    ("deals_count", "is_empty", None, set()),
    ("open_deals_count", "equals", 1, {"Bob", "Dee"}),
    ("open_deals_count", "less_or_equal", 0, {"Ann", "Cy"}),
    ("won_deals_value", "greater_than", 350.5, {"Ann"}),
    ("won_deals_value", "greater_than", 350, {"Ann", "Dee"}),
    ("won_deals_value", "equals", 350.5, {"Dee"}),
    ("won_deals_value", "between", [100, 1000], {"Dee"}),
    ("won_deals_value", "less_than", 1, {"Bob", "Cy"}),
    ("won_deals_value", "greater_or_equal", 5000, {"Ann"}),
    ("won_deals_value", "less_or_equal", 350.5, {"Bob", "Cy", "Dee"}),
    ("won_deals_value", "not_equals", 0, {"Ann", "Dee"}),
    ("won_deals_value", "is_not_empty", None, {"Ann", "Bob", "Cy", "Dee"}),
    # date-time: calendar dates in TIME_ZONE (UTC here), N days back from now
    ("created_at", "on", "2026-01-15", {"Ann"}),
    ("created_at", "before", "2026-02-01", {"Ann"}),
    ("created_at", "after", "2026-02-01", {"Cy", "Dee"}),
    ("created_at", "between", ["2026-02-01", "2026-03-01"], {"Bob", "Cy"}),
    ("created_at", "is_empty", None, set()),
    ("updated_at", "in_last_days", 1, {"Ann", "Bob", "Cy", "Dee"}),
    ("updated_at", "not_in_last_days", 1, set()),
    ("last_activity_at", "in_last_days", 30, {"Ann"}),
    ("last_activity_at", "in_last_days", 90, {"Ann", "Dee"}),
    ("last_activity_at", "not_in_last_days", 90, {"Bob", "Cy"}),
    ("last_activity_at", "before", "2000-01-01", set()),
    ("last_activity_at", "after", "2000-01-01", {"Ann", "Bob", "Dee"}),
    ("last_activity_at", "is_empty", None, {"Cy"}),
    ("last_activity_at", "is_not_empty", None, {"Ann", "Bob", "Dee"}),
    # owner
    ("owner", "equals", "user:rep", {"Ann", "Dee"}),
    ("owner", "not_equals", "user:rep", {"Bob", "Cy"}),
    ("owner", "in", ["user:rep", "user:manager"], {"Ann", "Bob", "Dee"}),
    ("owner", "not_in", ["user:manager"], {"Ann", "Cy", "Dee"}),
    ("owner", "is_empty", None, {"Cy"}),
    ("owner", "is_not_empty", None, {"Ann", "Bob", "Dee"}),
    # tags
    ("tags", "has", "tag:enterprise", {"Ann", "Bob"}),
    ("tags", "has_not", "tag:enterprise", {"Cy", "Dee"}),
    ("tags", "has", "tag:churned", set()),
    ("tags", "has_any", ["tag:vip", "tag:churned"], {"Ann", "Dee"}),
    ("tags", "has_all", ["tag:enterprise", "tag:vip"], {"Ann"}),
    ("tags", "has_none", ["tag:enterprise", "tag:vip"], {"Cy"}),
    # deal stage
    ("deal_stage", "has", "won", {"Ann", "Dee"}),
    ("deal_stage", "has_not", "won", {"Bob", "Cy"}),
    ("deal_stage", "has", "lost", {"Bob"}),
    # segment membership (the "Hand-picked" segment holds Ann and Cy)
    ("segment", "in_segment", "segment:Hand-picked", {"Ann", "Cy"}),
    ("segment", "not_in_segment", "segment:Hand-picked", {"Bob", "Dee"}),
]


@pytest.fixture
def hand_picked(cast, admin_user):
    segment = services.create_segment(name="Hand-picked", user=admin_user)
    for name in ("Ann", "Cy"):
        services.add_member(segment, cast[name], admin_user)
    return segment


def resolve(value, cast, segment):
    if isinstance(value, list):
        return [resolve(item, cast, segment) for item in value]
    if isinstance(value, str) and value.startswith(("tag:", "user:", "segment:")):
        kind, name = value.split(":", 1)
        if kind == "tag":
            return cast.tags[name].pk
        if kind == "user":
            return cast.users[name].pk
        assert name == segment.name
        return segment.pk
    return value


@pytest.mark.parametrize(
    ("field", "operator", "value", "expected"),
    CASES,
    ids=[f"{f}-{op}-{v}" for f, op, v, _ in CASES],
)
def test_operator_selects_exactly(cast, hand_picked, field, operator, value, expected):
    criteria = condition(field, operator, resolve(value, cast, hand_picked))

    assert matches(criteria) == expected


def test_every_operator_of_every_type_and_every_field_have_a_case():
    covered = {(FIELDS[field].type, operator) for field, operator, _, _ in CASES}
    every = {(f.type, operator) for f in FIELDS.values() for operator in f.operators}
    assert every - covered == set()
    assert set(FIELDS) - {field for field, *_ in CASES} == set()


def sample_value(field, shape: str, cast, segment):
    """A plausible value of each shape, for running every (field, operator) pair."""
    choices = [choice["value"] for choice in field.choices()] if field.choices else []
    samples = {
        "none": None,
        "text": "a",
        "text_list": ["acme", "Boston"],
        "number": 40,
        "number_range": [0, 75],
        "date": "2026-02-01",
        "date_range": ["2026-01-01", "2026-03-01"],
        "days": 90,
        "choice": choices[:1] and ("US" if "US" in choices else choices[0]),
        "choice_list": ["US", "GB"] if "US" in choices else choices[:2],
        "user": cast.users["rep"].pk,
        "user_list": [cast.users["rep"].pk, cast.users["manager"].pk],
        "tag": cast.tags["enterprise"].pk,
        "tag_list": [cast.tags["vip"].pk, cast.tags["churned"].pk],
        "segment": segment.pk,
    }
    return samples[shape]


def test_every_pair_runs_and_every_negative_is_the_complement(cast, hand_picked):
    # One test over the whole registry (parametrizing it would rebuild the cast ~130 times).
    problems = []
    for name, field in FIELDS.items():
        for op in field.operators.values():
            value = sample_value(field, op.value, cast, hand_picked)
            selected = matches(condition(name, op.name, value))
            if not op.negates:
                continue
            complement = matches(condition(name, op.negates, value))
            if selected | complement != cast.everyone or selected & complement:
                problems.append((name, op.name, sorted(selected), sorted(complement)))
    assert problems == []


def test_calendar_dates_follow_the_configured_time_zone(cast, settings):
    # Cy was created 2026-03-01 02:00 UTC: still 28 February in New York.
    settings.TIME_ZONE = "America/New_York"

    assert matches(condition("created_at", "on", "2026-02-28")) == {"Cy"}
    assert matches(condition("created_at", "on", "2026-03-01")) == set()
    assert "Cy" in matches(condition("created_at", "before", "2026-03-01"))


def test_on_includes_the_whole_day_and_nothing_of_the_next(db):
    make_contact("Early", created_at=datetime(2026, 5, 1, 0, 0, tzinfo=UTC))
    make_contact("Late", created_at=datetime(2026, 5, 1, 23, 59, 59, 999999, tzinfo=UTC))
    make_contact("Next", created_at=datetime(2026, 5, 2, 0, 0, tzinfo=UTC))

    assert matches(condition("created_at", "on", "2026-05-01")) == {"Early", "Late"}
    assert matches(condition("created_at", "after", "2026-05-01")) == {"Next"}
    assert matches(condition("created_at", "between", ["2026-05-01", "2026-05-01"])) == {
        "Early",
        "Late",
    }


# --- groups -------------------------------------------------------------------------------------


def test_match_any_is_or(cast):
    criteria = {
        "match": "any",
        "conditions": [
            {"field": "country", "operator": "equals", "value": "GB"},
            {"field": "lead_score", "operator": "equals", "value": 75},
        ],
    }
    assert matches(criteria) == {"Bob", "Cy"}


def test_match_none_is_the_complement_of_any(cast):
    conditions = [
        {"field": "country", "operator": "equals", "value": "GB"},
        {"field": "last_activity_at", "operator": "in_last_days", "value": 30},
    ]
    assert matches({"match": "none", "conditions": conditions}) == {"Cy", "Dee"}
    assert matches({"match": "any", "conditions": conditions}) == {"Ann", "Bob"}


def test_nested_groups_combine(cast):
    criteria = {
        "match": "all",
        "conditions": [
            {"field": "lifecycle_stage", "operator": "in", "value": ["lead", "subscriber"]},
            {
                "match": "any",
                "conditions": [
                    {"field": "lead_score", "operator": "greater_than", "value": 78},
                    {
                        "match": "none",
                        "conditions": [
                            {"field": "last_activity_at", "operator": "is_not_empty"},
                            {"field": "deals_count", "operator": "greater_than", "value": 2},
                        ],
                    },
                ],
            },
        ],
    }
    assert matches(criteria) == {"Ann", "Cy"}


def test_no_conditions_select_no_one(cast):
    assert matches({"match": "all", "conditions": []}) == set()
    assert matches({"match": "none", "conditions": []}) == set()
