from rest_framework.permissions import SAFE_METHODS, BasePermission

VIEW = "segments.view_segment"
MANAGE = "segments.manage_segment"


class SegmentPermission(BasePermission):
    """Reading (list, open, members, runs, export, fields) needs "view crm segments";
    everything that writes, syncs or previews criteria needs "manage crm segments"."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return user.has_perm(VIEW if request.method in SAFE_METHODS else MANAGE)
