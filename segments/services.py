"""Segments' business actions: create, edit, delete, manual members, preview, usage.

Each takes the acting user explicitly and runs in one transaction; views, the
API and commands only validate input, check permissions and call these. Syncing
lives in segments.sync.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, ProtectedError, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts.models import User
from audit.choices import Action
from audit.services import record_event
from contacts.filtersets import ContactFilterSet
from contacts.models import Contact
from core.filtersets import search_words
from core.queue import enqueue_or_keep
from core.transactions import after_commit
from segments.choices import (
    AddedHow,
    ChangeReason,
    MembershipChangeKind,
    ReferenceKind,
    SegmentMode,
    SyncSchedule,
    SyncStart,
)
from segments.criteria import CriteriaError, compile_keep, criteria_references, matching_contacts
from segments.criteria import validate_criteria as _validate_criteria
from segments.models import (
    LIVE_SCHEDULE_MESSAGE,
    CriteriaReference,
    MembershipChange,
    Segment,
    SegmentMember,
    SegmentRemoval,
)
from segments.notify import contacts_changed
from segments.references import REFERENCE_COLUMNS, SegmentInUse, ensure_unused, segments_using
from segments.schedule import set_schedule
from segments.sync import refuse_while_syncing

NAME_MAX_LENGTH = Segment._meta.get_field("name").max_length


def _save_references(segment: Segment) -> None:
    CriteriaReference.objects.filter(segment=segment).delete()
    found = criteria_references(segment.criteria)
    CriteriaReference.objects.bulk_create(
        [
            CriteriaReference(segment=segment, **{REFERENCE_COLUMNS[ReferenceKind(kind)]: pk})
            for kind, ids in found.items()
            for pk in sorted(ids)
        ]
    )


# --- validation -------------------------------------------------------------------------------


def validate_criteria(criteria, segment: Segment | None = None) -> dict:
    """Normalised criteria, or ValidationError({"criteria": [messages with paths]})."""
    try:
        return _validate_criteria(criteria, segment_id=segment.pk if segment else None)
    except CriteriaError as exc:
        raise ValidationError({"criteria": exc.messages}) from exc


def _clean_name(name: str, segment: Segment | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Enter a name."]})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [f"At most {NAME_MAX_LENGTH} characters."]})
    taken = Segment.objects.filter(name__iexact=name)
    if segment is not None:
        taken = taken.exclude(pk=segment.pk)
    if existing := taken.first():
        raise ValidationError(
            {"name": [f"A segment named “{existing.name}” already exists; names ignore case."]}
        )
    return name


def _clean_mode(mode) -> str:
    if mode not in SegmentMode.values:
        choices = " or ".join(f"“{value}”" for value in SegmentMode.values)
        raise ValidationError({"mode": [f"Choose {choices}, not “{mode}”."]})
    return mode


def _clean_schedule(schedule, mode: str) -> str:
    """A known schedule, and Off for a live segment (`mode`: the mode it will have)."""
    if schedule not in SyncSchedule.values:
        choices = ", ".join(f"“{value}”" for value in SyncSchedule.values)
        raise ValidationError({"sync_schedule": [f"Choose one of {choices}, not “{schedule}”."]})
    if mode == SegmentMode.LIVE and schedule != SyncSchedule.OFF:
        raise ValidationError({"sync_schedule": [LIVE_SCHEDULE_MESSAGE]})
    return schedule


def _clean(
    name, criteria, segment: Segment | None, mode=None, schedule=None
) -> tuple[str | None, dict | None, str | None, str | None]:
    """Every field checked, so one response lists every problem.

    The schedule is checked against the mode the segment will have: the one given, or
    its saved one. A live segment's schedule (always Off) is left as it is when only
    the mode changes.
    """
    errors: dict[str, list[str]] = {}
    cleaned_name = cleaned_criteria = cleaned_mode = cleaned_schedule = None
    if name is not None:
        try:
            cleaned_name = _clean_name(name, segment)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if criteria is not None:
        try:
            cleaned_criteria = validate_criteria(criteria, segment)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if mode is not None:
        try:
            cleaned_mode = _clean_mode(mode)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if (schedule is not None or mode is not None) and "mode" not in errors:
        future_mode = cleaned_mode or (segment.mode if segment else SegmentMode.MANUAL)
        future_schedule = schedule
        if future_schedule is None:
            future_schedule = segment.sync_schedule if segment else SyncSchedule.OFF
        try:
            checked = _clean_schedule(future_schedule, future_mode)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        else:
            cleaned_schedule = checked if schedule is not None else None
    if errors:
        raise ValidationError(errors)
    return cleaned_name, cleaned_criteria, cleaned_mode, cleaned_schedule


# --- segments ---------------------------------------------------------------------------------


def _lock(segment: Segment, referred: Iterable[int] = ()) -> Segment:
    """The segment's row lock: every membership write takes it (sync included).

    Refused at once (SegmentBusy) while a sync of the segment runs, as the sync holds
    that lock for its whole run. `referred`: segments the change will point at; each is
    key-share locked (what the reference's foreign key takes anyway) with this one in
    ascending id order, the order of every writer that locks several segments, so two
    edits pointing at each other's segments queue instead of deadlocking.
    """
    refuse_while_syncing(segment)
    locked = None
    for pk in sorted({segment.pk, *referred}):
        if pk == segment.pk:
            locked = Segment.objects.select_for_update().get(pk=pk)
        elif connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                table = Segment._meta.db_table
                cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR KEY SHARE", [pk])
    return locked


def _segments_referred(criteria) -> set[int]:
    """The segments that criteria not yet validated point at (none if they are invalid:
    the validation under the locks says why)."""
    if criteria is None:
        return set()
    try:
        return criteria_references(_validate_criteria(criteria))[ReferenceKind.SEGMENT]
    except CriteriaError:
        return set()


def _sync_after_commit(segment: Segment, user: User | None, start: SyncStart) -> None:
    """A live segment's members must match its criteria from the start: one full sync,
    queued when the change that made it live (or changed its criteria) commits. The
    task makes it a job (segments.jobs), listed with every other sync."""
    user_id = user.pk if user is not None else None
    after_commit(enqueue_or_keep, "segments.sync_segment", segment.pk, user_id, start.value)


@transaction.atomic
def create_segment(
    *,
    name: str,
    user: User | None,
    description: str = "",
    criteria: dict | None = None,
    mode: str = SegmentMode.MANUAL,
    sync_schedule: str = SyncSchedule.OFF,
) -> Segment:
    """A new segment with no members yet: sync a manual one to fill it (or let its
    scheduled sync do it, one interval from now); a live one is synced once the
    creation commits, then follows changes to contacts."""
    cleaned_name, cleaned_criteria, cleaned_mode, cleaned_schedule = _clean(
        name or "",
        criteria or {},
        None,
        mode or SegmentMode.MANUAL,
        sync_schedule or SyncSchedule.OFF,
    )
    segment = Segment(
        name=cleaned_name,
        description=(description or "").strip(),
        criteria=cleaned_criteria,
        mode=cleaned_mode,
        created_by=user,
    )
    set_schedule(segment, cleaned_schedule)
    segment.save(force_insert=True)
    _save_references(segment)
    details = {
        "name": segment.name,
        "description": segment.description,
        "criteria": segment.criteria,
        "conditions": len(segment.criteria.get("conditions", [])),
        "mode": segment.mode,
        "sync_schedule": segment.sync_schedule,
    }
    record_event(user, Action.SEGMENT_CREATED, segment, details)
    if segment.mode == SegmentMode.LIVE:
        _sync_after_commit(segment, user, SyncStart.MADE_LIVE)
    return segment


@transaction.atomic
def update_segment(
    segment: Segment,
    *,
    user: User | None,
    name: str | None = None,
    description: str | None = None,
    criteria: dict | None = None,
    mode: str | None = None,
    sync_schedule: str | None = None,
) -> Segment:
    """Change what is given. New criteria of a manual segment take effect at the next
    sync; a segment made live, or a live one given new criteria, is synced once the
    change commits. A new scheduled sync is first due one interval from now; a live
    segment refuses any schedule but Off (ValidationError).

    The audit log records the fields whose value actually changed, if any.
    """
    # Validated with the locks held: a cycle made by a concurrent edit is seen.
    saved = _lock(segment, _segments_referred(criteria))
    cleaned_name, cleaned_criteria, cleaned_mode, cleaned_schedule = _clean(
        name, criteria, saved, mode, sync_schedule
    )
    # Only what was given is written, so a stale instance cannot undo someone else's edit.
    changed = ["updated_at"]
    if cleaned_name is not None:
        segment.name = cleaned_name
        changed.append("name")
    if description is not None:
        segment.description = description.strip()
        changed.append("description")
    if cleaned_criteria is not None:
        segment.criteria = cleaned_criteria
        changed.append("criteria")
    if cleaned_mode is not None:
        segment.mode = cleaned_mode
        changed.append("mode")
    if saved.live_failed_at is not None and (
        (cleaned_criteria is not None and cleaned_criteria != saved.criteria)
        or (cleaned_mode is not None and cleaned_mode != saved.mode)
    ):
        # Live updates stopped on these criteria: new ones (or another mode) start afresh,
        # and a live segment's full sync after this change brings its members up to date.
        segment.live_error, segment.live_failed_at = "", None
        changed += ["live_error", "live_failed_at"]
    if cleaned_schedule is not None and cleaned_schedule != saved.sync_schedule:
        # An unchanged schedule keeps its next run: saving the form must not postpone it.
        changed += set_schedule(segment, cleaned_schedule)
    segment.save(update_fields=changed)
    if cleaned_criteria is not None:
        _save_references(segment)
    changes = {
        field: {"before": getattr(saved, field), "after": getattr(segment, field)}
        for field in ("name", "description", "criteria", "mode", "sync_schedule")
        if field in changed and getattr(saved, field) != getattr(segment, field)
    }
    if changes:
        record_event(user, Action.SEGMENT_UPDATED, segment, {"changes": changes})
    if segment.mode == SegmentMode.LIVE and "mode" in changes:
        _sync_after_commit(segment, user, SyncStart.MADE_LIVE)
    elif segment.mode == SegmentMode.LIVE and "criteria" in changes:
        _sync_after_commit(segment, user, SyncStart.NEW_CRITERIA)
    return segment


@transaction.atomic
def delete_segment(segment: Segment, user: User | None) -> None:
    """Delete the segment with its members and history; refused (SegmentInUse) while
    another segment's criteria test membership of it."""
    saved = _lock(segment)
    ensure_unused(ReferenceKind.SEGMENT, segment)
    details = {"name": saved.name, "members": saved.member_count, "criteria": saved.criteria}
    record_event(user, Action.SEGMENT_DELETED, saved, details)
    try:
        segment.delete()
    except ProtectedError as exc:  # a reference made since the check above
        raise SegmentInUse(f"Segment “{segment}”", segments_using("segment", segment.pk)) from exc


# --- manual members ---------------------------------------------------------------------------


def _record_change(segment: Segment, contact: Contact, change: str, user: User | None) -> None:
    MembershipChange.objects.create(
        segment=segment,
        contact=contact,
        change=change,
        changed_at=timezone.now(),
        reason=ChangeReason.MANUAL,
        changed_by=user,
    )
    # Criteria of live segments may test membership of this one.
    contacts_changed([contact.pk])


def _check_kept_while_live(segment: Segment, contact: Contact) -> None:
    """A live segment would drop at once a manual addition that meets none of its
    top-level conditions (the rule a sync applies): refuse it with the reason instead."""
    keep = compile_keep(segment.criteria)
    if keep and not Contact.objects.filter(keep, pk=contact.pk).exists():
        raise ValidationError(
            {
                "contact_id": [
                    f"{contact} meets none of the conditions of “{segment.name}”, and a live "
                    "segment keeps a contact added by hand only while they meet at least one. "
                    "Change the criteria, or make the segment manual first."
                ]
            }
        )


@transaction.atomic
def add_member(segment: Segment, contact: Contact, user: User | None) -> bool:
    """Add `contact` by hand; False when it was a member already (nothing changes then).

    Clears an earlier manual removal, so syncs may keep the contact again. A live
    segment refuses (ValidationError) a contact that meets none of its conditions.
    """
    locked = _lock(segment)
    # Then the contact, as delete_contact and attach_tag do: a delete under way is waited
    # for, and one that won is refused here, not an IntegrityError at the commit.
    if not Contact.objects.select_for_update(no_key=True).filter(pk=contact.pk).exists():
        raise ValidationError(f"{contact} no longer exists: someone deleted the contact.")
    if (
        locked.mode == SegmentMode.LIVE
        and not SegmentMember.objects.filter(segment=segment, contact=contact).exists()
    ):
        _check_kept_while_live(locked, contact)
    SegmentRemoval.objects.filter(segment=segment, contact=contact).delete()
    _, created = SegmentMember.objects.get_or_create(
        segment=segment,
        contact=contact,
        defaults={"added_how": AddedHow.MANUAL, "added_at": timezone.now()},
    )
    if created:
        Segment.objects.filter(pk=segment.pk).update(member_count=F("member_count") + 1)
        segment.refresh_from_db(fields=["member_count"])
        record_event(user, Action.SEGMENT_MEMBER_ADDED, segment, _member_details(contact))
        _record_change(segment, contact, MembershipChangeKind.JOINED, user)
    return created


def _member_details(contact: Contact) -> dict:
    return {"contact_id": contact.pk, "contact_name": str(contact)}


@transaction.atomic
def remove_member(segment: Segment, contact: Contact, user: User | None) -> bool:
    """Remove `contact` by hand and remember it, so no sync adds it back; False when
    it was not a member (nothing is recorded then)."""
    _lock(segment)
    deleted, _ = SegmentMember.objects.filter(segment=segment, contact=contact).delete()
    if not deleted:
        return False
    SegmentRemoval.objects.update_or_create(
        segment=segment,
        contact=contact,
        defaults={"removed_at": timezone.now(), "removed_by": user},
    )
    Segment.objects.filter(pk=segment.pk).update(member_count=Greatest(F("member_count") - 1, 0))
    segment.refresh_from_db(fields=["member_count"])
    record_event(user, Action.SEGMENT_MEMBER_REMOVED, segment, _member_details(contact))
    _record_change(segment, contact, MembershipChangeKind.LEFT, user)
    return True


def segment_members(segment: Segment, search: str = "") -> QuerySet:
    """The segment's memberships, newest first, each with its contact (`.contact`).

    `search`: every word must appear in the contact's name, email or company.
    """
    members = SegmentMember.objects.filter(segment=segment).select_related("contact")
    if search:
        members = search_words(
            members, [f"contact__{f}" for f in ContactFilterSet.search_fields], search
        )
    return members.order_by("-added_at", "-contact_id")


def membership_changes(segment: Segment, change: str | None = None) -> QuerySet:
    """Who joined and left the segment, newest first, each with its contact and who did it
    by hand; `change` ("joined" or "left") keeps one kind (ValueError for another word)."""
    changes = MembershipChange.objects.filter(segment=segment)
    if change is not None:
        if change not in MembershipChangeKind.values:
            kinds = " or ".join(f"“{value}”" for value in MembershipChangeKind.values)
            raise ValueError(f"change: expected {kinds}, not “{change}”.")
        changes = changes.filter(change=change)
    return changes.select_related("contact", "changed_by").order_by("-changed_at", "-id")


# --- preview ----------------------------------------------------------------------------------


def preview(
    criteria: dict, sample_size: int = 5, *, segment: Segment | None = None
) -> tuple[int, list[Contact]]:
    """How many contacts the criteria match now, and the first few (newest first).

    `segment`: the segment being edited, if any (its criteria may not use itself).
    Raises ValidationError({"criteria": [...]}) for invalid criteria.
    """
    contacts = matching_contacts(validate_criteria(criteria, segment))
    count = contacts.count()
    sample = list(contacts.select_related("owner")[:sample_size]) if count else []
    return count, sample


# --- counters ---------------------------------------------------------------------------------


@transaction.atomic
def recount_members(segment_ids: Iterable[int] | None = None) -> None:
    """Recompute member_count from the membership rows (to repair)."""
    segments = (
        Segment.objects.all()
        if segment_ids is None
        else Segment.objects.filter(pk__in=list(segment_ids))
    )
    for segment in segments.select_for_update().order_by("pk"):
        Segment.objects.filter(pk=segment.pk).update(
            member_count=SegmentMember.objects.filter(segment=segment).count()
        )
