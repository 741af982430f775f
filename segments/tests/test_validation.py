"""Criteria validation: every problem named by its path, nothing saved."""

import pytest

from django.core.exceptions import ValidationError

from segments import services
from segments.criteria import CriteriaError, validate_criteria
from segments.criteria.registry import MAX_CONDITIONS
from segments.models import CriteriaReference, Segment


def errors(criteria, segment_id=None) -> list[str]:
    with pytest.raises(CriteriaError) as caught:
        validate_criteria(criteria, segment_id=segment_id)
    return caught.value.messages


def one(field, operator, value=None) -> dict:
    return {"conditions": [{"field": field, "operator": operator, "value": value}]}


def test_wrong_operator_names_the_path_the_type_and_the_allowed_operators(db):
    criteria = {
        "match": "all",
        "conditions": [
            {"field": "first_name", "operator": "equals", "value": "Ann"},
            {"field": "country", "operator": "greater_than", "value": 3},
        ],
    }

    assert errors(criteria) == [
        "conditions[1].operator: 'greater_than' is not an operator for choice field "
        "'country'; use one of equals, not_equals, in, not_in, is_empty, is_not_empty"
    ]


@pytest.mark.parametrize(
    ("criteria", "message"),
    [
        ([], "criteria: expected an object with 'match' and 'conditions'"),
        ({"match": "some"}, "match: 'some' is not a way to match; use all, any or none"),
        ({"conditions": "x"}, "conditions: expected a list"),
        (
            {"conditions": [], "order": 1},
            "order: unknown key; a group has 'match' and 'conditions'",
        ),
        ({"conditions": [7]}, "conditions[0]: expected a condition"),
        (
            one("colour", "equals", "red"),
            "conditions[0].field: 'colour' is not a field; use one of",
        ),
        (
            one("lead_score", "greater_than", "70"),
            'conditions[0].value: expected a number, got "70"',
        ),
        (
            one("lead_score", "greater_than", True),
            "conditions[0].value: expected a number, got true",
        ),
        (one("lead_score", "between", [9, 1]), "conditions[0].value: the first number must not be"),
        (one("lead_score", "between", [1]), "conditions[0].value: expected [number, number]"),
        (one("first_name", "equals", ""), "conditions[0].value: expected a non-empty string"),
        (one("first_name", "equals", "x" * 201), "conditions[0].value: at most 200 characters"),
        (one("first_name", "in", []), "conditions[0].value: expected a non-empty list"),
        (one("first_name", "in", ["a", 3]), "conditions[0].value: item 1: expected a non-empty"),
        (one("first_name", "is_empty", "x"), "conditions[0].value: this operator takes no value"),
        (
            one("country", "equals", "XX"),
            "conditions[0].value: \"XX\" is not a choice of 'country'",
        ),
        (one("lifecycle_stage", "in", ["lead", "boss"]), 'conditions[0].value: item 1: "boss"'),
        (
            one("created_at", "on", "2026-02-30"),
            "conditions[0].value: expected a date as YYYY-MM-DD",
        ),
        (one("created_at", "on", "20260201"), "conditions[0].value: expected a date as YYYY-MM-DD"),
        (
            one("created_at", "between", ["2026-03-01", "2026-02-01"]),
            "conditions[0].value: the first date must not be after the second",
        ),
        (
            one("last_activity_at", "in_last_days", 0),
            "conditions[0].value: expected a whole number",
        ),
        (
            one("last_activity_at", "in_last_days", 2.5),
            "conditions[0].value: expected a whole number",
        ),
        (one("tags", "has", "vip"), "conditions[0].value: expected an id"),
        (one("deal_stage", "has", "closed"), 'conditions[0].value: "closed" is not a choice'),
        (
            {"conditions": [{"field": "city", "operator": "equals", "value": "x", "note": 1}]},
            "conditions[0].note: unknown key",
        ),
        (
            {"conditions": [{"match": "any", "conditions": []}]},
            "conditions[0].conditions: a group needs at least one condition",
        ),
    ],
)
def test_each_problem_is_reported_with_its_path(db, criteria, message):
    assert any(text.startswith(message) for text in errors(criteria)), errors(criteria)


def test_every_problem_is_listed_at_once(db):
    criteria = {
        "match": "all",
        "conditions": [
            {"field": "colour", "operator": "equals", "value": "red"},
            {"match": "any", "conditions": [{"field": "city", "operator": "equals"}]},
        ],
    }

    assert [m.split(":")[0] for m in errors(criteria)] == [
        "conditions[0].field",
        "conditions[1].conditions[0].value",
    ]


def nested(depth: int) -> dict:
    node = {"field": "city", "operator": "equals", "value": "Paris"}
    for _ in range(depth):
        node = {"match": "all", "conditions": [node]}
    return node


def test_groups_nest_four_levels_and_no_deeper(db):
    assert validate_criteria(nested(4))
    assert errors(nested(5)) == [
        "conditions[0].conditions[0].conditions[0].conditions[0]: groups nest at most 4 levels deep"
    ]


def test_at_most_100_conditions(db):
    condition = {"field": "city", "operator": "equals", "value": "Paris"}
    assert validate_criteria({"conditions": [condition] * MAX_CONDITIONS})
    assert errors({"conditions": [condition] * (MAX_CONDITIONS + 1)}) == [
        "conditions: at most 100 conditions in all; these have 101"
    ]


def test_unknown_tag_user_and_segment_ids_are_errors(db):
    criteria = {
        "conditions": [
            {"field": "tags", "operator": "has_any", "value": [999]},
            {"field": "owner", "operator": "equals", "value": 998},
            {"field": "segment", "operator": "in_segment", "value": 997},
        ]
    }

    assert errors(criteria) == [
        "conditions[0].value: tag 999 does not exist",
        "conditions[1].value: user 998 does not exist",
        "conditions[2].value: segment 997 does not exist",
    ]


def test_normalises_defaults_and_duplicates(db):
    assert validate_criteria(
        {"conditions": [{"field": "city", "operator": "in", "value": ["a", "a", "b"]}]}
    ) == {
        "match": "all",
        "conditions": [{"field": "city", "operator": "in", "value": ["a", "b"]}],
    }
    assert validate_criteria(None) == {"match": "all", "conditions": []}


def test_a_segment_cannot_use_itself_or_make_a_cycle(db, admin_user):
    a = services.create_segment(name="A", user=admin_user)
    b = services.create_segment(
        name="B",
        user=admin_user,
        criteria=one("segment", "in_segment", a.pk),
    )
    c = services.create_segment(
        name="C", user=admin_user, criteria=one("segment", "not_in_segment", b.pk)
    )

    assert errors(one("segment", "in_segment", a.pk), segment_id=a.pk) == [
        "conditions[0].value: a segment cannot test membership of itself"
    ]
    assert errors(one("segment", "in_segment", c.pk), segment_id=a.pk) == [
        "conditions[0].value: segment “C” → “B” already depends on this segment, "
        "so using it here would make a cycle"
    ]
    with pytest.raises(ValidationError) as caught:
        services.update_segment(a, user=admin_user, criteria=one("segment", "in_segment", c.pk))
    assert "cycle" in caught.value.message_dict["criteria"][0]


def test_invalid_criteria_save_nothing(db, admin_user):
    with pytest.raises(ValidationError) as caught:
        services.create_segment(name="", user=admin_user, criteria=one("colour", "equals", "x"))

    assert set(caught.value.message_dict) == {"name", "criteria"}
    assert not Segment.objects.exists()
    assert not CriteriaReference.objects.exists()


def test_names_are_unique_ignoring_case(db, admin_user):
    services.create_segment(name="VIPs", user=admin_user)

    with pytest.raises(ValidationError) as caught:
        services.create_segment(name=" vips ", user=admin_user)

    assert caught.value.message_dict == {
        "name": ["A segment named “VIPs” already exists; names ignore case."]
    }
