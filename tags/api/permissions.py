from rest_framework.permissions import SAFE_METHODS, BasePermission


class TagPermission(BasePermission):
    """Reading needs "view crm tags"; create, edit, merge and delete need "manage crm tags"."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        if request.method in SAFE_METHODS:
            return user.has_perm("tags.view_tag")
        return user.has_perm("tags.manage_tag")


class RecordTaggingPermission(BasePermission):
    """Seeing a record's tags needs view on the record; attaching and detaching need change.

    Every one also needs "view crm tags": a record's tags are the tag permission's to show,
    and attaching by name or id would otherwise tell which tags exist (#15 M5). Which
    records a user may change is ownership (core.ownership), checked by the views.
    """

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.has_perm("tags.view_tag")):
            return False
        taggable = view.taggable_type
        if request.method in SAFE_METHODS:
            return user.has_perm(taggable.view_permission)
        return user.has_perm(taggable.change_permission)
