"""JSON from outside Cohort, read with a bound on nesting and only real text inside.

Python's JSON decoder and encoder recurse once per level, so a body like
`[[[[…]]]]` a few thousand levels deep raises RecursionError (a 500) while being
read, stored or shown. No Cohort payload needs more than a dozen levels (criteria:
groups four deep), so deeper JSON is refused as malformed.

JSON's `\\ud800` escapes can also spell a lone surrogate, which is no character: it
cannot be encoded as UTF-8, so PostgreSQL refuses it, and SQLite stores it only for
every page that shows it to fail. Form fields and query strings cannot carry one
(Django decodes their bytes as UTF-8, replacing what is invalid), so refusing it here,
where JSON enters, keeps it out of every text field.
"""

import json
from typing import Any

MAX_NESTING = 32


class JSONTooDeep(ValueError):
    """JSON nested more than MAX_NESTING levels: refused like any malformed JSON."""

    def __init__(self) -> None:
        super().__init__(f"nested more than {MAX_NESTING} levels deep")


class JSONNotText(ValueError):
    """A string of the JSON holds a lone surrogate (e.g. "\\ud800"), which is no text."""

    def __init__(self, text: str) -> None:
        at = next(i for i, char in enumerate(text) if "\ud800" <= char <= "\udfff")
        super().__init__(
            f"a string contains {ascii(text[at])[1:-1]} (a lone surrogate) at character "
            f"{at + 1}, which is not text; remove it"
        )


def is_text(value: str) -> bool:
    """Whether `value` can be stored and shown: UTF-8 encodable (no lone surrogates)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(value: str) -> None:
    if not is_text(value):
        raise JSONNotText(value)


def check_nesting(value: Any) -> Any:
    """`value` unchanged, or JSONTooDeep, or JSONNotText for a string (key or value) that
    is not text; walks with a list, never by recursion."""
    if isinstance(value, str):
        _check_text(value)
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise JSONTooDeep
        if isinstance(node, dict):
            for key in node:
                _check_text(key)
            children = node.values()
        else:
            children = node
        for child in children:
            if isinstance(child, str):
                _check_text(child)
            elif isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return value


def loads(text: str | bytes) -> Any:
    """json.loads, with too-deep input raising JSONTooDeep (a ValueError) instead of
    RecursionError, and a lone surrogate in a string raising JSONNotText (a ValueError)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONTooDeep from None
    return check_nesting(value)
