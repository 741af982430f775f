"""Logging and deleting activities from a contact's timeline (htmx partials)."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from activities.forms import ActivityForm
from activities.models import Activity
from activities.services import delete_activity, log_activity
from contacts.models import Contact
from core.htmx import is_partial
from core.ownership import check_may_edit


def _timeline(request, contact: Contact, form: ActivityForm, status: int = 200):
    if not is_partial(request):
        return redirect(contact)
    context = {
        "contact": contact,
        "activities": contact.activities.select_related("owner", "deal", "lead")[:50],
        "activity_form": form,
    }
    return render(request, "activities/_timeline_panel.html", context, status=status)


@login_required
@permission_required("activities.add_activity", raise_exception=True)
@require_POST
def activity_create(request, contact_pk: int):
    contact = get_object_or_404(Contact, pk=contact_pk)
    form = ActivityForm(request.POST, contact=contact)
    if not form.is_valid():
        return _timeline(request, contact, form, status=400)
    activity = form.save(commit=False)
    activity.owner = request.user
    log_activity(activity)
    return _timeline(request, contact, ActivityForm(contact=contact))


@login_required
@permission_required("activities.delete_activity", raise_exception=True)
@require_POST
def activity_delete(request, pk: int):
    activity = get_object_or_404(Activity.objects.select_related("contact"), pk=pk)
    check_may_edit(request.user, activity)  # a Sales rep deletes only what they logged
    contact = activity.contact
    delete_activity(activity)
    return _timeline(request, contact, ActivityForm(contact=contact))
