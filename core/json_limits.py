"""JSON from outside Cohort, read with a bound on nesting.

Python's JSON decoder and encoder recurse once per level, so a body like
`[[[[…]]]]` a few thousand levels deep raises RecursionError (a 500) while being
read, stored or shown. No Cohort payload needs more than a dozen levels (criteria:
groups four deep), so deeper JSON is refused as malformed.
"""

import json
from typing import Any

MAX_NESTING = 32


class JSONTooDeep(ValueError):
    """JSON nested more than MAX_NESTING levels: refused like any malformed JSON."""

    def __init__(self) -> None:
        super().__init__(f"nested more than {MAX_NESTING} levels deep")


def check_nesting(value: Any) -> Any:
    """`value` unchanged, or JSONTooDeep; walks with a list, never by recursion."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > MAX_NESTING:
            raise JSONTooDeep
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return value


def loads(text: str | bytes) -> Any:
    """json.loads, with too-deep input raising JSONTooDeep (a ValueError) instead of
    RecursionError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise JSONTooDeep from None
    return check_nesting(value)
