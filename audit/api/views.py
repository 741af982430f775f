"""Audit API: GET /api/crm/audit and /api/crm/audit/{id}, read-only, Administrators only."""

from rest_framework import viewsets

from audit.api.serializers import AuditEntrySerializer
from audit.filtersets import AuditEntryFilterSet
from audit.models import AuditEntry
from core.api.permissions import ModelPermissions


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """Newest first; filter by `action`, `actor` (user id), `target_type`, `target_id`, `since`."""

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilterSet
    # Reading needs "view audit log" (audit.view_auditentry), which only Administrators hold.
    permission_classes = [ModelPermissions]
    lookup_value_regex = r"[0-9]+"
