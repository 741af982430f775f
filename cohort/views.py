"""The dashboard at /admin/ and the redirect from /."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from activities.models import Activity
from contacts.models import Contact
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
