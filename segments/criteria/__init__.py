"""The segment criteria language: the field registry, validation and the compiler."""

from segments.criteria.compiler import (
    compile_criteria,
    compile_keep,
    context,
    has_conditions,
    matching_contacts,
)
from segments.criteria.registry import FIELDS, TYPES, describe_registry
from segments.criteria.validation import (
    CriteriaError,
    criteria_references,
    uses_relative_dates,
    validate_criteria,
)

__all__ = [
    "FIELDS",
    "TYPES",
    "CriteriaError",
    "compile_criteria",
    "compile_keep",
    "context",
    "criteria_references",
    "describe_registry",
    "has_conditions",
    "matching_contacts",
    "uses_relative_dates",
    "validate_criteria",
]
