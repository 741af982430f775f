"""The dashboard at /admin/, the redirect from /, and the API's schema and docs pages."""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions

from activities.models import Activity
from contacts.models import Contact
from core.api.permissions import ApiDocsPermission
from core.counting import estimated_count
from deals.choices import CLOSED_STAGES
from deals.models import Deal
from leads.models import Lead


def home(request):
    return redirect("dashboard")


@login_required
def dashboard(request):
    user = request.user
    stats = []
    for model, perm, url_name in (
        (Contact, "contacts.view_contact", "contact_list"),
        (Lead, "leads.view_lead", "lead_list"),
        (Deal, "deals.view_deal", "deal_list"),
    ):
        if user.has_perm(perm):
            stats.append(
                {
                    "label": model._meta.verbose_name_plural.capitalize(),
                    "count": estimated_count(model.objects.all()),
                    "url_name": url_name,
                }
            )
    context = {"stats": stats}
    if user.has_perm("deals.view_deal"):
        context["open_deals"] = estimated_count(Deal.objects.exclude(stage__in=CLOSED_STAGES))
    if user.has_perm("activities.view_activity"):
        context["recent_activities"] = Activity.objects.select_related("contact", "owner")[:10]
    return render(request, "cohort/dashboard.html", context)


class ApiSchemaView(SpectacularAPIView):
    """GET /api/schema: the OpenAPI document, for signed-in users (ApiDocsPermission)."""

    permission_classes = [ApiDocsPermission]


class ApiDocsView(SpectacularSwaggerSplitView):
    """GET /api/docs: Swagger UI inside Cohort's own page, its files served by Cohort
    (drf-spectacular-sidecar) and its start-up script a file of its own (?script), so the
    Content-Security-Policy needs no inline script. Someone signed out is sent to sign in."""

    permission_classes = [ApiDocsPermission]
    template_name = "cohort/api_docs.html"

    def handle_exception(self, exc):
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.PermissionDenied) and (
            not self.request.user.is_authenticated
        ):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
