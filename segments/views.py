"""The segment pages under CRM → Segments (/admin/crm-segments).

The list; New Segment and edit, with the Filter Criteria builder (generated in the
browser from the field registry) and its live preview; the segment page with Sync,
its members (search, pages, Remove, the contact picker to add), Export CSV, who
joined and left recently (a panel htmx refreshes; every change on a page of its own)
and the sync history; delete with confirmation.

Views check permissions on the server and call segments.services, segments.sync and
segments.export; they hold no segment logic of their own. Seeing needs "view crm
segments", everything that changes a segment "manage crm segments".
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts.filtersets import ContactFilterSet
from contacts.models import Contact
from core.csv import csv_response
from core.htmx import is_partial
from core.paging import MAX_PAGE, fetch_page, positive_int
from jobs.choices import ACTIVE_STATES, JobState
from jobs.services import visible_jobs
from jobs.summaries import job_context, job_summary
from segments import services
from segments.choices import MembershipChangeKind, SegmentMode, SyncOutcome, SyncSchedule
from segments.criteria import FIELDS, describe_registry
from segments.export import csv_chunks, export_columns, export_filename
from segments.forms import AddMemberForm, CriteriaField, SegmentForm
from segments.jobs import request_export, request_sync
from segments.models import Segment, SegmentMember, SyncRun
from segments.schedule import is_stale, next_run
from segments.sync import SegmentBusy
from tags.colors import HEX_COLOR, text_color_for
from tags.models import Tag

VIEW = "segments.view_segment"
MANAGE = "segments.manage_segment"
EXPORT = "segments.export_segment"
VIEW_CONTACTS = "contacts.view_contact"
view_required = permission_required(VIEW, raise_exception=True)
manage_required = permission_required(MANAGE, raise_exception=True)
export_required = permission_required([VIEW, EXPORT], raise_exception=True)
# Picking any contact by id or by search reads contacts: their view permission too (#15 M5).
pick_contacts_required = permission_required([MANAGE, VIEW_CONTACTS], raise_exception=True)

LIST_PAGE_SIZE = 50
MEMBER_PAGE_SIZE = 50
PREVIEW_SAMPLE = 5
PICKER_LIMIT = 8
RUN_HISTORY = 30
RECENT_CHANGES = 20
CHANGES_PAGE_SIZE = 50


# --- the list ---------------------------------------------------------------------------------


@login_required
@view_required
@require_GET
def segment_list(request: HttpRequest) -> HttpResponse:
    """Every segment with its member count and last sync (counters: no COUNT over members)."""
    search = request.GET.get("search", "").strip()
    segments = Segment.objects.select_related("last_run")
    if search:
        segments = segments.filter(name__icontains=search)
    page = fetch_page(segments, positive_int(request.GET.get("page"), 1, MAX_PAGE), LIST_PAGE_SIZE)
    now = timezone.now()
    for segment in page.rows:
        segment.stale = is_stale(segment, now)  # from the row's own fields: no query
    context = {"page": page, "search": search, "can_manage": request.user.has_perm(MANAGE)}
    if is_partial(request):
        return render(request, "segments/_segment_results.html", context)
    return render(request, "segments/segment_list.html", context)


# --- New Segment and edit ---------------------------------------------------------------------


def builder_registry(user) -> dict:
    """The field registry, as the API's fields endpoint serves it, plus each tag's readable
    chip text colour (computed here so the builder's chips match the rest of the app)."""
    registry = describe_registry(user)
    for field in registry["fields"]:
        if field["type"] == "tags":
            for choice in field["choices"] or []:
                choice["text"] = text_color_for(choice.get("color", ""))
    return registry


def _editor(request: HttpRequest, segment: Segment | None) -> HttpResponse:
    """One form for New Segment and edit, saved through create_segment / update_segment."""
    if request.method == "POST":
        form = SegmentForm(request.POST)
        busy_status = 400
        if form.is_valid():
            data = form.cleaned_data
            try:
                if segment is None:
                    segment = services.create_segment(
                        name=data["name"],
                        description=data["description"],
                        criteria=data["criteria"],
                        mode=data["mode"] or SegmentMode.MANUAL,
                        sync_schedule=data["sync_schedule"] or SyncSchedule.OFF,
                        user=request.user,
                    )
                    after = (
                        "It is live: it fills now, then follows changes to contacts."
                        if segment.mode == SegmentMode.LIVE
                        else "Click Sync to fill it with the contacts that match."
                    )
                    messages.success(request, f"Segment “{segment.name}” created. {after}")
                else:
                    services.update_segment(
                        segment,
                        user=request.user,
                        name=data["name"],
                        description=data["description"],
                        criteria=data["criteria"],
                        mode=data["mode"] or None,
                        sync_schedule=data["sync_schedule"] or None,
                    )
                    after = (
                        "It is live: its members follow its criteria from now on."
                        if segment.mode == SegmentMode.LIVE
                        else "New criteria apply at the next Sync."
                    )
                    messages.success(request, f"Segment “{segment.name}” saved. {after}")
                return redirect("segment_detail", segment.pk)
            except ValidationError as error:
                form.add_service_errors(error)
            except SegmentBusy as busy:
                form.add_error(None, str(busy))
                busy_status = 409
        if segment is not None:
            segment.refresh_from_db()  # the heading shows the saved name, not the rejected one
        status = busy_status
    else:
        initial = {"criteria": segment.criteria if segment else {"match": "all", "conditions": []}}
        initial["mode"] = segment.mode if segment else SegmentMode.MANUAL
        initial["sync_schedule"] = segment.sync_schedule if segment else SyncSchedule.OFF
        if segment is not None:
            initial |= {"name": segment.name, "description": segment.description}
        form = SegmentForm(initial=initial)
        status = 200
    context = {
        "form": form,
        "segment": segment,
        "registry": builder_registry(request.user),
        "criteria_errors": list(form.errors.get("criteria", [])),
    }
    return render(request, "segments/segment_form.html", context, status=status)


@login_required
@manage_required
@require_http_methods(["GET", "POST"])
def segment_add(request: HttpRequest) -> HttpResponse:
    return _editor(request, None)


@login_required
@manage_required
@require_http_methods(["GET", "POST"])
def segment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _editor(request, get_object_or_404(Segment, pk=pk))


@login_required
@manage_required
@require_POST
def segment_preview(request: HttpRequest) -> HttpResponse:
    """The builder's live preview: how many contacts match the criteria now, and a few."""
    segment = None
    segment_id = request.POST.get("segment_id", "")
    if segment_id.isdecimal():
        segment = get_object_or_404(Segment, pk=segment_id)
    try:
        criteria = CriteriaField(required=False).clean(request.POST.get("criteria", ""))
        # Criteria can match any contact: samples only for those who may view contacts.
        size = PREVIEW_SAMPLE if request.user.has_perm(VIEW_CONTACTS) else 0
        count, sample = services.preview(criteria, size, segment=segment)
    except ValidationError as error:
        return render(request, "segments/_preview.html", {"errors": error.messages}, status=400)
    context = {
        "count": count,
        "sample": sample,
        "no_conditions": isinstance(criteria, dict) and not criteria.get("conditions"),
    }
    return render(request, "segments/_preview.html", context)


# --- the segment page -------------------------------------------------------------------------


def sync_summary(run: SyncRun) -> str:
    """What a sync did, as the segment page says it: "+120 added, −15 removed, 3,456 members"."""
    noun = "member" if run.members_after == 1 else "members"
    return f"+{run.added:,} added, −{run.removed:,} removed, {run.members_after:,} {noun}"


def _member_query(search: str, page: int) -> str:
    """The members table's state, kept by links and forms that act on it."""
    return urlencode({k: v for k, v in (("search", search), ("page", page)) if v and v != 1})


def _members_context(request: HttpRequest, segment: Segment, note: str = "", error: str = ""):
    """The members table: one page of memberships with contact, owner and tag chips.

    Queries do not grow with the page: owners are joined, tags prefetched in one query.
    """
    user = request.user
    search = request.GET.get("search", "").strip()
    number = positive_int(request.GET.get("page"), 1, MAX_PAGE)
    show_tags = user.has_perm("tags.view_tag")
    members = services.segment_members(segment, search).select_related("contact__owner")
    if show_tags:
        tags = Tag.objects.only("id", "name", "color")
        members = members.prefetch_related(Prefetch("contact__tags", queryset=tags))
    page = fetch_page(members, number, MEMBER_PAGE_SIZE)
    detail_url = reverse("segment_detail", args=[segment.pk])
    return {
        "segment": segment,
        "page": page,
        "search": search,
        "show_tags": show_tags,
        "can_manage": user.has_perm(MANAGE),
        "detail_url": detail_url,
        "member_query": _member_query(search, page.number),
        "previous_query": _member_query(search, page.number - 1),
        "next_query": _member_query(search, page.number + 1),
        "contacts_url": reverse("contact_list"),
        "note": note,
        "error": error,
    }


def _value_labels(field, operator, value) -> list[dict]:
    """A condition's value as the builder shows it: choice labels, tag chips, dates."""
    shape = operator.value
    if shape == "none":
        return []
    items = value if isinstance(value, list) else [value]
    if field.choices is None or shape in {"text", "text_list"}:
        return [{"label": str(item)} for item in items]
    choices = {choice["value"]: choice for choice in field.choices()}
    labels = []
    for item in items:
        choice = choices.get(item, {"label": str(item)})
        color = choice.get("color") or ""
        if not HEX_COLOR.match(color):
            color = ""
        labels.append({"label": choice["label"], "color": color, "text": text_color_for(color)})
    return labels


def describe_criteria(node: dict, depth: int = 1) -> dict:
    """The saved criteria in words, from the registry's labels, for the segment page."""
    if "conditions" in node:
        return {
            "group": True,
            "match": node.get("match", "all"),
            "depth": depth,
            "items": [describe_criteria(child, depth + 1) for child in node["conditions"]],
        }
    field = FIELDS.get(node.get("field"))
    operator = field.operators.get(node.get("operator")) if field else None
    if operator is None:  # cannot happen for saved (validated) criteria; shown as stored
        return {"group": False, "field": str(node.get("field")), "operator": "", "values": []}
    label = operator.label
    if operator.value == "days":
        label = label.replace(" N ", f" {node.get('value')} ")
        values = []
    else:
        values = _value_labels(field, operator, node.get("value"))
    return {
        "group": False,
        "field": field.label,
        "operator": label,
        "values": values,
        "joiner": "and" if operator.value.endswith("_range") else "or",
        "is_tags": field.type == "tags",
    }


# The chart is drawn in a 100 × 100 box stretched to its container; dots are placed
# in percent by the template, so they stay round at any width.
CHART_PAD_X, CHART_PAD_Y = 2, 8


def member_chart(runs: list[SyncRun]) -> dict | None:
    """Members after each successful sync, oldest first, as coordinates in percent
    (x by time, y from 0 to the peak)."""
    points = [run for run in reversed(runs) if run.outcome == SyncOutcome.SUCCEEDED]
    if len(points) < 2:
        return None
    top = max(run.members_after for run in points) or 1
    start = points[0].started_at
    span = (points[-1].started_at - start).total_seconds()
    inner_w, inner_h = 100 - 2 * CHART_PAD_X, 100 - 2 * CHART_PAD_Y
    dots = []
    for index, run in enumerate(points):
        elapsed = (run.started_at - start).total_seconds()
        share = elapsed / span if span else index / (len(points) - 1)
        x = CHART_PAD_X + inner_w * share
        y = CHART_PAD_Y + inner_h * (1 - run.members_after / top)
        dots.append({"x": f"{x:.2f}", "y": f"{y:.2f}", "run": run})
    line = " ".join(f"{dot['x']},{dot['y']}" for dot in dots)
    area = f"{dots[0]['x']},100 {line} {dots[-1]['x']},100"
    return {
        "line": line,
        "area": area,
        "dots": dots,
        "top": top,
        "first": points[0],
        "last": points[-1],
    }


def schedule_context(segment: Segment) -> dict:
    """The segment page's scheduled sync: its label, next run (due or not) and staleness."""
    now = timezone.now()
    upcoming = next_run(segment)
    return {
        "label": SyncSchedule(segment.sync_schedule).label,
        "on": segment.sync_schedule != SyncSchedule.OFF,
        "next_run": upcoming,
        "overdue": upcoming is not None and upcoming <= now,
        "stale": is_stale(segment, now),
    }


def _render_detail(request: HttpRequest, segment: Segment, status: int = 200) -> HttpResponse:
    runs = SyncRun.objects.filter(segment=segment).select_related("triggered_by")
    runs = list(runs[:RUN_HISTORY])
    last_run = segment.last_run
    context = {
        **_members_context(request, segment),
        "criteria": describe_criteria(segment.criteria),
        "runs": runs,
        "chart": member_chart(runs),
        "last_summary": sync_summary(last_run) if last_run else "",
        "schedule": schedule_context(segment),
        "used_by": services.segments_using("segment", segment.pk),
        **_recent_changes_context(segment),
        "jobs": [job_context(job) for job in _running_jobs(request, segment)],
        "export_in_background": segment.member_count > settings.COHORT_EXPORT_JOB_ABOVE,
        "can_add_contacts": request.user.has_perms([MANAGE, VIEW_CONTACTS]),
        "can_export": request.user.has_perm(EXPORT),
    }
    return render(request, "segments/segment_detail.html", context, status=status)


def _running_jobs(request: HttpRequest, segment: Segment) -> list:
    """Syncs and exports of this segment still running, that this person may follow."""
    jobs = visible_jobs(request.user).filter(segment=segment, state__in=ACTIVE_STATES)
    return list(jobs.order_by("created_at")[:5])


def _segment(pk: int) -> Segment:
    return get_object_or_404(Segment.objects.select_related("last_run", "created_by"), pk=pk)


@login_required
@view_required
@require_GET
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The segment page; htmx requests (search, pages) get only the members table."""
    segment = _segment(pk)
    if is_partial(request):
        return render(request, "segments/_members.html", _members_context(request, segment))
    return _render_detail(request, segment)


# --- who joined and left ----------------------------------------------------------------------


def _recent_changes_context(segment: Segment) -> dict:
    """The segment page's panel of the latest joins and leaves."""
    changes = services.membership_changes(segment)[:RECENT_CHANGES]
    return {"segment": segment, "recent_changes": list(changes)}


@login_required
@view_required
@require_GET
def segment_changes(request: HttpRequest, pk: int) -> HttpResponse:
    """Who joined and left: htmx refreshes the segment page's panel of the latest; a plain
    request gets every change, page by page, optionally only joins or only leaves."""
    segment = _segment(pk)
    if is_partial(request):
        return render(request, "segments/_changes.html", _recent_changes_context(segment))
    change = request.GET.get("change", "").strip()
    try:
        changes = services.membership_changes(segment, change or None)
    except ValueError as error:
        messages.error(request, str(error))
        changes, status = services.membership_changes(segment), 400
        change = ""
    else:
        status = 200
    number = positive_int(request.GET.get("page"), 1, MAX_PAGE)
    context = {
        "segment": segment,
        "page": fetch_page(changes, number, CHANGES_PAGE_SIZE),
        "kind": change,
        "kinds": MembershipChangeKind.choices,
    }
    return render(request, "segments/segment_changes.html", context, status=status)


@login_required
@manage_required
@require_POST
def segment_sync(request: HttpRequest, pk: int) -> HttpResponse:
    """Sync: a background job re-evaluates the criteria; the page follows its progress.

    Without a broker the job has run by now, and its outcome is the message.
    """
    segment = _segment(pk)
    job = request_sync(segment, request.user)
    if job.state == JobState.SUCCEEDED:
        messages.success(request, job_summary(job))
    elif job.state == JobState.FAILED:
        messages.error(request, job.error)
    return redirect("segment_detail", segment.pk)


def _after_member_change(
    request: HttpRequest,
    segment: Segment,
    *,
    note: str = "",
    error: str = "",
    status: int = 200,
    added: bool = False,
) -> HttpResponse:
    """htmx gets the members table, the new count and (after an add) an empty contact
    picker; a plain form post goes back to the segment page with a message."""
    if is_partial(request):
        segment.refresh_from_db(fields=["member_count"])
        context = {
            **_members_context(request, segment, note=note, error=error),
            "changed": True,
            "added": added,
        }
        response = render(request, "segments/_members.html", context, status=status)
        if not error:
            # The panel of recent changes (segments/_changes.html) reloads on this event.
            response["HX-Trigger"] = "segmentMembersEdited"
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, note)
    back = reverse("segment_detail", args=[segment.pk])
    query = _member_query(
        request.GET.get("search", "").strip(), positive_int(request.GET.get("page"), 1, MAX_PAGE)
    )
    return redirect(f"{back}?{query}" if query else back)


@login_required
@pick_contacts_required
@require_POST
def segment_member_add(request: HttpRequest, pk: int) -> HttpResponse:
    """The contact picker's pick: add that contact by hand."""
    segment = _segment(pk)
    form = AddMemberForm(request.POST)
    contact = None
    if form.is_valid():
        contact = Contact.objects.filter(pk=form.cleaned_data["contact_id"]).first()
    if contact is None:
        return _after_member_change(
            request, segment, error="That contact does not exist (any more).", status=400
        )
    try:
        added = services.add_member(segment, contact, request.user)
    except ValidationError as refused:  # a live segment would drop them at once
        return _after_member_change(request, segment, error=" ".join(refused.messages), status=400)
    except SegmentBusy as busy:
        return _after_member_change(request, segment, error=str(busy), status=409)
    if added:
        note = f"Added {contact} by hand: syncs keep them while they match a condition."
    else:
        note = f"{contact} is already a member."
    return _after_member_change(request, segment, note=note, added=True)


@login_required
@manage_required
@require_POST
def segment_member_remove(request: HttpRequest, pk: int, contact_id: int) -> HttpResponse:
    """Remove on a member's row: later syncs will not add the contact back."""
    segment = _segment(pk)
    contact = get_object_or_404(Contact, pk=contact_id)
    try:
        removed = services.remove_member(segment, contact, request.user)
    except SegmentBusy as busy:
        return _after_member_change(request, segment, error=str(busy), status=409)
    if removed:
        note = f"Removed {contact}. Syncs will not add them back unless someone adds them by hand."
    else:  # no name: managing segments does not show contacts that are not members
        note = "That contact was not a member."
    return _after_member_change(request, segment, note=note)


@login_required
@pick_contacts_required
@require_GET
def segment_contact_search(request: HttpRequest, pk: int) -> HttpResponse:
    """The contact picker: contacts whose name, email or company match `q`, members marked.

    htmx gets the options; without JavaScript the picker's form lands on a page of them.
    """
    segment = _segment(pk)
    query = request.GET.get("q", "").strip()
    contacts: list[Contact] = []
    members: set[int] = set()
    if query:
        found = ContactFilterSet({"search": query}, queryset=Contact.objects.all(), request=request)
        # An invalid search (a NUL character) is dropped by the filterset: match no one, not all.
        matches = found.qs if found.is_valid() else Contact.objects.none()
        contacts = list(matches.order_by("last_name", "first_name", "pk")[:PICKER_LIMIT])
        members = set(
            SegmentMember.objects.filter(
                segment=segment, contact_id__in=[c.pk for c in contacts]
            ).values_list("contact_id", flat=True)
        )
    context = {
        "segment": segment,
        "query": query,
        "options": [{"contact": c, "is_member": c.pk in members} for c in contacts],
        "limit": PICKER_LIMIT,
    }
    if is_partial(request):
        return render(request, "segments/_contact_options.html", context)
    return render(request, "segments/segment_add_member.html", context)


@login_required
@export_required
@require_GET
def segment_export(request: HttpRequest, pk: int) -> HttpResponse:
    """Export CSV: the members, streamed (memory stays flat at any size), with the columns
    this user may see."""
    segment = get_object_or_404(Segment, pk=pk)
    columns = export_columns(request.user)
    return csv_response(csv_chunks(segment, columns), export_filename(segment))


@login_required
@export_required
@require_POST
def segment_export_job(request: HttpRequest, pk: int) -> HttpResponse:
    """Export CSV of a large segment: a background job writes the file to download.

    The page follows the job and offers the file when it is written.
    """
    segment = _segment(pk)
    job = request_export(segment, request.user)
    if job.finished:
        return redirect("job_detail", job.pk)
    return redirect("segment_detail", segment.pk)


@login_required
@manage_required
@require_http_methods(["GET", "POST"])
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then delete; refused while another segment's criteria use this one."""
    segment = _segment(pk)
    if request.method == "POST":
        name = segment.name
        try:
            services.delete_segment(segment, request.user)
        except services.SegmentInUse as error:
            context = {"segment": segment, "used_by": error.segments, "error": str(error)}
            return render(request, "segments/segment_delete.html", context, status=409)
        except SegmentBusy as busy:
            used_by = services.segments_using("segment", segment.pk)
            context = {"segment": segment, "used_by": used_by, "error": str(busy)}
            return render(request, "segments/segment_delete.html", context, status=409)
        messages.success(request, f"Segment “{name}” deleted.")
        return redirect("segment_list")
    used_by = services.segments_using("segment", segment.pk)
    return render(request, "segments/segment_delete.html", {"segment": segment, "used_by": used_by})
