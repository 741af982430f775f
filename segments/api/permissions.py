from rest_framework.permissions import SAFE_METHODS, BasePermission

VIEW = "segments.view_segment"
MANAGE = "segments.manage_segment"


# Actions that only read, though they POST: an export job writes a file, not the segment.
READING_ACTIONS = {"export_job"}


class SegmentPermission(BasePermission):
    """Reading (list, open, members, runs, export, fields) needs "view crm segments";
    everything that writes, syncs or previews criteria needs "manage crm segments"."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        reading = request.method in SAFE_METHODS or getattr(view, "action", None) in READING_ACTIONS
        return user.has_perm(VIEW if reading else MANAGE)
