"""Who may edit which record: the one place the ownership rule is written.

Everything stays readable to whoever holds a record type's view permission. Changing
or deleting a contact, lead, deal or activity needs the model's change or delete
permission *and* ownership: the record's `owner` (for an activity, who logged it) is
the user — unless the user holds "edit and delete records of every owner"
(`accounts.edit_all_records`: Sales managers and Administrators). Pages, the API, bulk
tagging and imports all ask `may_edit` / `editable_by`; none repeats the rule.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet

EDIT_ALL = "accounts.edit_all_records"


def edits_all(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(EDIT_ALL))


def may_edit(user, record: Model) -> bool:
    """May `user` change or delete `record` (on top of the model permission for it)?"""
    if edits_all(user):
        return True
    owner_id = getattr(record, "owner_id", None)
    return owner_id is not None and user is not None and owner_id == user.pk


def editable_by(user, queryset: QuerySet) -> QuerySet:
    """The rows of `queryset` that `user` may change: a filter, never fetched."""
    if edits_all(user):
        return queryset
    if user is None or not user.is_authenticated:
        return queryset.none()
    return queryset.filter(owner=user)


def refusal(record: Model) -> str:
    """Why a user who may not edit `record` is refused, in words they can act on."""
    opts = record._meta
    whose = (
        "activities you logged"
        if opts.model_name == "activity"
        else f"{opts.verbose_name_plural} you own"
    )
    owner = getattr(record, "owner", None)
    held = f"; this one belongs to {owner}" if owner else "; this one has no owner"
    return f"You may change and delete only {whose}{held}. Ask its owner or a Sales manager."


def check_may_edit(user, record: Model) -> None:
    """Raise PermissionDenied (a 403 on pages and in the API) unless `user` may edit `record`."""
    if not may_edit(user, record):
        raise PermissionDenied(refusal(record))


def split_editable(user, queryset: QuerySet) -> tuple[QuerySet, int]:
    """For bulk actions: the rows `user` may change, and how many others were chosen
    (counted only for users who edit just their own; they are skipped, not refused)."""
    if edits_all(user):
        return queryset, 0
    editable = editable_by(user, queryset)
    return editable, queryset.count() - editable.count()


def skipped_message(skipped: int, model: type[Model]) -> str:
    """What a bulk action says about the rows it left alone."""
    opts = model._meta
    name = opts.verbose_name if skipped == 1 else opts.verbose_name_plural
    return f"{skipped} {name} skipped: you may change only {opts.verbose_name_plural} you own."
