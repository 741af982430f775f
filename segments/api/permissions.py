from rest_framework.permissions import SAFE_METHODS, BasePermission

VIEW = "segments.view_segment"
MANAGE = "segments.manage_segment"


EXPORT = "segments.export_segment"
VIEW_CONTACTS = "contacts.view_contact"

# Actions that only read, though they POST: an export job writes a file, not the segment.
READING_ACTIONS = {"export_job"}
# A file of members outlives the page: exporting is a permission of its own (#15 M5).
EXPORTING_ACTIONS = {"export", "export_job"}


class SegmentPermission(BasePermission):
    """Reading (list, open, members, runs, fields) needs "view crm segments"; exporting
    "export crm segments" too; everything that writes, syncs or previews criteria needs
    "manage crm segments" — and adding members by hand, which picks any contact by id,
    "view crm contacts" as well (the preview shows its sample only to them)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        action = getattr(view, "action", None)
        if action in EXPORTING_ACTIONS:
            return user.has_perm(VIEW) and user.has_perm(EXPORT)
        if request.method in SAFE_METHODS or action in READING_ACTIONS:
            return user.has_perm(VIEW)
        if action == "contacts":  # POST: add a member by contact id
            return user.has_perm(MANAGE) and user.has_perm(VIEW_CONTACTS)
        return user.has_perm(MANAGE)
