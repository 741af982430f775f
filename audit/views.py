"""The audit log page, /admin/audit: Administrators only ("view audit log")."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.filtersets import AuditEntryFilterSet
from audit.models import AuditEntry
from audit.services import link_targets
from core.htmx import is_partial
from core.paging import MAX_PAGE, fetch_page, positive_int

PAGE_SIZE = 50
VIEW = "audit.view_auditentry"


@login_required
@permission_required(VIEW, raise_exception=True)
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    """Newest first, filtered by action, who, target type (and target, from History links)."""
    filterset = AuditEntryFilterSet(request.GET, queryset=AuditEntry.objects.all())
    rows = filterset.qs if filterset.is_valid() else AuditEntry.objects.none()
    page = fetch_page(rows, positive_int(request.GET.get("page"), 1, MAX_PAGE), PAGE_SIZE)
    link_targets(page.rows)
    context = {"filterset": filterset, "page": page, "target": _target_filter(filterset)}
    partial = is_partial(request)
    template = "audit/_audit_results.html" if partial else "audit/audit_list.html"
    return render(request, template, context)


def _target_filter(filterset: AuditEntryFilterSet) -> dict | None:
    """The one target the log is narrowed to (a History section's "full log" link), if any."""
    data = filterset.form.cleaned_data if filterset.is_valid() else {}
    if not data.get("target_id"):
        return None
    latest = filterset.qs.values("target_type", "target_name").first()
    return latest or {"target_type": data.get("target_type") or "", "target_name": ""}
