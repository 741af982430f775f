"""Writing the audit log, and reading a target's history.

`record_event` is called by the business services (tags.services, segments.services,
segments.sync, accounts.tokens) inside their own transaction: when the change rolls
back, so does its entry, and an entry that cannot be written undoes the change.
"""

from __future__ import annotations

from django.apps import apps
from django.db import transaction
from django.db.models import Model
from django.urls import reverse

from accounts.models import User
from audit.choices import Action, TargetType
from audit.models import AuditEntry

# Each target type's model, and the page that shows one (None: no page to link).
TARGET_MODELS = {
    TargetType.TAG: ("tags.Tag", "tag_edit"),
    TargetType.SEGMENT: ("segments.Segment", "segment_detail"),
    TargetType.TOKEN: ("accounts.ApiToken", None),
}
TARGET_TYPES = {label: target_type for target_type, (label, _) in TARGET_MODELS.items()}
HISTORY_LENGTH = 10


def target_type_for(target: Model) -> TargetType:
    label = target._meta.label
    if label not in TARGET_TYPES:
        raise ValueError(f"{label} is not something the audit log records.")
    return TARGET_TYPES[label]


def _actor(user: User | None) -> User | None:
    """The acting user, or None for the system (a command, a job, an anonymous caller)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user


def record_event(
    actor: User | None, action: Action, target: Model, details: dict | None = None
) -> AuditEntry:
    """Write one entry about `target` (saved: it must still have its primary key).

    Must run inside the transaction of the change it describes; outside one it
    refuses, so a caller cannot log a change that may still roll back without it.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("record_event must run inside the transaction of the change.")
    if target.pk is None:
        raise ValueError("Record the event before the target is deleted, while it has an id.")
    actor = _actor(actor)
    name = getattr(target, "name", None) or str(target)
    return AuditEntry.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor else "",
        action=Action(action),
        target_type=target_type_for(target),
        target_id=target.pk,
        target_name=str(name)[: AuditEntry._meta.get_field("target_name").max_length],
        details=details or {},
    )


def history(target: Model, limit: int = HISTORY_LENGTH) -> list[AuditEntry]:
    """The latest entries about `target`, newest first."""
    entries = AuditEntry.objects.filter(target_type=target_type_for(target), target_id=target.pk)
    return list(entries[:limit])


def link_targets(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Give each entry `target_url`: its target's page while the target still exists, else "".

    One query per target type on the page, however many rows.
    """
    wanted: dict[str, set[int]] = {}
    for entry in entries:
        wanted.setdefault(entry.target_type, set()).add(entry.target_id)
    existing: dict[str, set[int]] = {}
    for target_type, ids in wanted.items():
        label, url_name = TARGET_MODELS.get(target_type, (None, None))
        if url_name is None:
            continue
        model = apps.get_model(label)
        existing[target_type] = set(
            model.objects.filter(pk__in=ids).values_list("pk", flat=True).order_by()
        )
    for entry in entries:
        url_name = TARGET_MODELS.get(entry.target_type, (None, None))[1]
        found = entry.target_id in existing.get(entry.target_type, ())
        entry.target_url = reverse(url_name, args=[entry.target_id]) if found else ""
    return entries
