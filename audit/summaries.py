"""An audit entry's details in a line of words, as the audit page and History sections show it.

Details are stored as data (audit.services.record_event's callers decide their
keys); this is the one place that turns them into a sentence. Unknown or missing
keys read as nothing rather than failing: old entries must always render.
"""

from audit.choices import Action

FIELD_NAMES = {"name": "name", "color": "colour", "description": "description"}
# Long or structured values are said to have changed, not quoted.
NOT_QUOTED = {"description", "criteria"}


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _changes(details: dict) -> str:
    parts = []
    for field, change in (details.get("changes") or {}).items():
        label = FIELD_NAMES.get(field, field)
        if field in NOT_QUOTED or not isinstance(change, dict):
            parts.append(f"{label} changed")
        else:
            parts.append(f"{label} “{change.get('before', '')}” → “{change.get('after', '')}”")
    return "; ".join(parts)


def _merge(details: dict) -> str:
    source = (details.get("source") or {}).get("name", "?")
    target = (details.get("target") or {}).get("name", "?")
    moved = sum((details.get("links_moved") or {}).values())
    already = sum((details.get("links_already_on_target") or {}).values())
    text = f"“{source}” merged into “{target}”: {_plural(moved, 'link')} moved"
    if already:
        text += f", {already:,} already there"
    return text


def _records(details: dict) -> str:
    n = details.get("records", 0)
    record_type = str(details.get("record_type", "record"))
    noun = record_type[:-1] if record_type.endswith("s") else record_type
    text = _plural(n, noun)
    if details.get("via") == "import":
        text += " by a CSV import"
    return text


def _token(details: dict) -> str:
    text = f"Prefix {details.get('prefix', '?')}…"
    if details.get("owner"):
        text += f" of {details['owner']}"
    if details.get("expires_at"):
        text += f", expires {str(details['expires_at'])[:10]}"
    if details.get("via"):
        text += f" (via {details['via']})"
    return text


def summarise(action: str, details: dict) -> str:
    try:
        return _summarise(action, details if isinstance(details, dict) else {})
    except (TypeError, ValueError, AttributeError):  # details of an unexpected shape
        return ""


def _summarise(action: str, details: dict) -> str:
    match action:
        case Action.TAG_CREATED:
            return f"Colour {details.get('color', '?')}"
        case Action.TAG_UPDATED | Action.SEGMENT_UPDATED:
            return _changes(details)
        case Action.TAG_MERGED:
            return _merge(details)
        case Action.TAG_DELETED:
            return f"Taken off {_plural(details.get('records', 0), 'record')}"
        case Action.TAG_BULK_ADDED:
            return f"Added to {_records(details)}"
        case Action.TAG_BULK_REMOVED:
            return f"Removed from {_records(details)}"
        case Action.SEGMENT_CREATED:
            return _plural(details.get("conditions", 0), "top-level condition")
        case Action.SEGMENT_DELETED:
            return f"Had {_plural(details.get('members', 0), 'member')}"
        case Action.SEGMENT_SYNCED:
            return (
                f"+{details.get('added', 0):,} added, −{details.get('removed', 0):,} removed, "
                f"{_plural(details.get('total', 0), 'member')}"
            )
        case Action.SEGMENT_SYNC_FAILED:
            return f"Membership unchanged. {details.get('error', '')}".strip()
        case Action.SEGMENT_LIVE_FAILED:
            return f"Skipped until fixed. {details.get('error', '')}".strip()
        case Action.SEGMENT_MEMBER_ADDED | Action.SEGMENT_MEMBER_REMOVED:
            return str(details.get("contact_name") or f"Contact {details.get('contact_id', '?')}")
        case Action.TOKEN_CREATED | Action.TOKEN_REVOKED:
            return _token(details)
    return ""
