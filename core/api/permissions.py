"""Django model permissions for the API, reads included; who may read the API's schema.

DRF's DjangoModelPermissions lets any authenticated user read; Cohort's Viewer
role and the guide's "view" permissions need reads checked too.
"""

from django.conf import settings
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS, BasePermission, DjangoModelPermissions

from core.ownership import may_edit, refusal


class ModelPermissions(DjangoModelPermissions):
    perms_map = {
        **DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


class RecordOwnership(BasePermission):
    """Changing or deleting a record needs ownership too (core.ownership); reads do not."""

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in SAFE_METHODS or may_edit(request.user, obj):
            return True
        self.message = refusal(obj)  # DRF answers 403 with it as the detail
        return False


class ApiDocsPermission(BasePermission):
    """The schema and the docs pages: signed-in users (session or token) only, unless the
    operator publishes them (COHORT_PUBLIC_API_DOCS=true): they map every endpoint."""

    message = "Sign in, or send a Bearer token, to read the API's schema and docs."

    def has_permission(self, request, view) -> bool:
        if settings.COHORT_PUBLIC_API_DOCS or (request.user and request.user.is_authenticated):
            return True
        # DRF would say only "credentials were not provided": say what to do.
        raise exceptions.NotAuthenticated(self.message)
