"""The tag pages (CRM → Tags), the Tags section of record pages, and bulk tagging of lists.

Views check permissions on the server and call tags.services; they hold no tag
logic of their own. Seeing tags needs "view crm tags", changing them "manage crm
tags"; attaching and detaching need the change permission of the record's type.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, F, IntegerField, Model, Value, When
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.htmx import is_partial
from core.paging import MAX_PAGE, fetch_page, positive_int
from core.templatetags.cohort_format import day
from tags import services
from tags.colors import palette_color_for
from tags.forms import NAME_REQUIRED, BulkTagForm, TagForm, TagMergeForm
from tags.jobs import request_bulk_tagging
from tags.models import Tag
from tags.records import (
    TAGGABLE_TYPES,
    TaggableType,
    prefetch_tags,
    taggable_or_404,
    taggable_type_for,
)
from tags.templatetags.tag_chips import list_chip, record_tags_context, suggestion

TAG_PAGE_SIZE = 100
SUGGESTION_LIMIT = 10
USAGE = F("contacts_count") + F("leads_count") + F("deals_count")
TAG_ORDERINGS = {
    "name": [Lower("name"), "id"],
    "-name": [Lower("name").desc(), "-id"],
    "usage": [USAGE.asc(), Lower("name")],
    "-usage": [USAGE.desc(), Lower("name")],
    "created_at": ["created_at", "id"],
    "-created_at": ["-created_at", "-id"],
}

view_tags_required = permission_required("tags.view_tag", raise_exception=True)
manage_tags_required = permission_required("tags.manage_tag", raise_exception=True)


# --- CRM → Tags -------------------------------------------------------------------------------


@login_required
@view_tags_required
@require_GET
def tag_list(request: HttpRequest) -> HttpResponse:
    """Every tag with its usage counts (the counter fields: no COUNT over links)."""
    search = request.GET.get("search", "").strip()
    ordering = request.GET.get("ordering", "")
    tags = Tag.objects.order_by(*TAG_ORDERINGS.get(ordering, TAG_ORDERINGS["name"]))
    if search:
        tags = tags.filter(name__icontains=search)
    page = fetch_page(tags, positive_int(request.GET.get("page"), 1, MAX_PAGE), TAG_PAGE_SIZE)
    can_manage = request.user.has_perm("tags.manage_tag")
    context = {
        "page": page,
        "rows": tag_table_rows(page.rows, can_manage=can_manage),
        "search": search,
        "ordering": ordering if ordering in TAG_ORDERINGS else "",
        "can_manage": can_manage,
    }
    partial = is_partial(request)
    return render(request, "tags/_tag_results.html" if partial else "tags/tag_list.html", context)


def tag_table_rows(tags: list[Tag], *, can_manage: bool) -> list[str]:
    """The tags table's rows as markup, built in Python: as template nodes, 100 rows were
    ~2,000 variable lookups and 600 number localisations, most of the page's time."""
    lists = {key: reverse(f"{key[:-1]}_list") for key in ("contacts", "leads", "deals")}
    rows = []
    for tag in tags:
        name = conditional_escape(tag.name)
        cells = [list_chip(tag, lists["contacts"])]
        if tag.description:
            description = conditional_escape(tag.description)
            cells.append(f'<div class="muted tag-description">{description}</div>')
        counts = "".join(
            f'<td class="num"><a href="{lists[key]}?tag={tag.pk}" '
            f'aria-label="{n} {key} tagged {name}">{n:,}</a></td>'
            for key, n in (
                ("contacts", tag.contacts_count),
                ("leads", tag.leads_count),
                ("deals", tag.deals_count),
            )
        )
        actions = (
            f'<td class="row-actions">\n        <a href="{tag.get_absolute_url()}">Edit</a>\n'
            f'        <a href="{tag.merge_url}">Merge</a>\n'
            f'        <a class="danger" href="{tag.delete_url}">Delete</a>\n      </td>'
            if can_manage
            else ""
        )
        rows.append(
            mark_safe(  # every value above is escaped or our own
                f"<tr>\n      <td>{''.join(cells)}</td>\n      {counts}\n"
                f'      <td class="num"><strong>{tag.total_count:,}</strong></td>\n'
                f'      <td class="muted hide-sm">{day(tag.created_at)}</td>\n'
                f"      {actions}\n    </tr>"
            )
        )
    return rows


def _save_tag(request: HttpRequest, tag: Tag | None) -> HttpResponse:
    """The New Tag and edit pages: one form, saved through create_tag or update_tag."""
    if request.method == "POST":
        form = TagForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                if tag is None:
                    tag = services.create_tag(
                        data["name"],
                        color=data["color"],
                        description=data["description"],
                        user=request.user,
                    )
                    messages.success(request, f"Tag “{tag.name}” created.")
                else:
                    services.update_tag(
                        tag,
                        name=data["name"],
                        color=data["color"],
                        description=data["description"],
                        user=request.user,
                    )
                    messages.success(request, f"Tag “{tag.name}” saved.")
                return redirect("tag_list")
            except ValidationError as error:
                _add_service_errors(form, error)
        if tag is not None:
            tag.refresh_from_db()  # update_tag may have changed it before failing
        status = 400
    else:
        if tag is None:
            initial = {"color": palette_color_for(Tag.objects.count())}
        else:
            initial = {"name": tag.name, "color": tag.color, "description": tag.description}
        form = TagForm(initial=initial)
        status = 200
    return render(request, "tags/tag_form.html", {"form": form, "tag": tag}, status=status)


def _add_service_errors(form: TagForm, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@login_required
@manage_tags_required
@require_http_methods(["GET", "POST"])
def tag_add(request: HttpRequest) -> HttpResponse:
    return _save_tag(request, None)


@login_required
@manage_tags_required
@require_http_methods(["GET", "POST"])
def tag_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _save_tag(request, get_object_or_404(Tag, pk=pk))


@login_required
@manage_tags_required
@require_http_methods(["GET", "POST"])
def tag_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, then delete the tag and its links; the records themselves stay."""
    tag = get_object_or_404(Tag, pk=pk)
    if request.method == "POST":
        name = tag.name
        try:
            lost = services.delete_tag(tag, user=request.user)
        except services.TagError as error:  # in use, or deleted meanwhile
            context = {"tag": tag, "error": str(error)}
            return render(request, "tags/tag_delete.html", context, status=409)
        records = "record" if lost == 1 else "records"
        messages.success(request, f"Tag “{name}” deleted; {lost} {records} lost it.")
        return redirect("tag_list")
    context = {"tag": tag, "error": services.why_tag_must_stay(tag)}
    return render(request, "tags/tag_delete.html", context)


@login_required
@manage_tags_required
@require_http_methods(["GET", "POST"])
def tag_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Pick a target, confirm, then move every link to it and delete this tag."""
    source = get_object_or_404(Tag, pk=pk)
    if request.method == "GET":
        form = TagMergeForm(source=source)
        return render(request, "tags/tag_merge.html", {"tag": source, "form": form})
    form = TagMergeForm(request.POST, source=source)
    if not form.is_valid():
        return render(request, "tags/tag_merge.html", {"tag": source, "form": form}, status=400)
    target = form.cleaned_data["into"]
    if not form.cleaned_data["confirm"]:
        context = {"tag": source, "form": form, "target": target}
        return render(request, "tags/tag_merge_confirm.html", context)
    try:
        services.merge_tags(source, target, user=request.user)
    except services.TagError as error:
        form.add_error("into", str(error))
        return render(request, "tags/tag_merge.html", {"tag": source, "form": form}, status=400)
    messages.success(request, f"Tag “{source.name}” merged into “{target.name}”.")
    return redirect("tag_list")


# --- Tags on the contacts, leads and deals lists -------------------------------------------


class TaggedListMixin:
    """Composes onto a record's core.generic_views.ObjectListView: tag chips in the rows
    (for users who may see tags) and the bulk tag bar (for those who may also change the
    records). The list's model must be a TaggableType."""

    def tagging_context(self, user) -> dict:
        taggable = taggable_type_for(self.model)
        show_tags = user.has_perm("tags.view_tag")
        return {
            "record_type": taggable.key,
            "show_tags": show_tags,
            "bulk_tagging": show_tags and user.has_perm(taggable.change_permission),
        }

    def prepare_rows(self, rows, request: HttpRequest):
        rows = super().prepare_rows(rows, request)
        if self.tagging_context(request.user)["show_tags"]:
            rows = prefetch_tags(rows)  # one query for every row's tag chips
        return rows

    def get_list_context(self, request: HttpRequest) -> dict:
        return {**super().get_list_context(request), **self.tagging_context(request.user)}


# --- The Tags section of contact, lead and deal pages --------------------------------------


def _record(request: HttpRequest, taggable: TaggableType, pk: int, *, change: bool) -> Model:
    """The record, after checking the user may see it (and change it, to attach or detach)."""
    user = request.user
    if not user.has_perm(taggable.view_permission):
        raise PermissionDenied
    if change and not user.has_perm(taggable.change_permission):
        raise PermissionDenied
    return get_object_or_404(taggable.model, pk=pk)


def _section(request, record: Model, *, error: str = "", status: int = 200, refocus: bool = False):
    """htmx gets the section partial; a plain form post goes back to the record page.

    `refocus` puts the cursor back in the picker after an attach, to add another tag.
    """
    if not is_partial(request):
        if error:
            messages.error(request, error)
        return redirect(record.get_absolute_url())
    context = record_tags_context(request, record, error=error, autofocus=refocus)
    return render(request, "tags/_record_tags.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def record_tags(request: HttpRequest, record_type: str, pk: int) -> HttpResponse:
    """GET: the section. POST `tag_id`, or `name` to attach by name (creating needs manage)."""
    taggable = taggable_or_404(record_type)
    record = _record(request, taggable, pk, change=request.method == "POST")
    if request.method == "GET":
        if not request.user.has_perm("tags.view_tag"):
            raise PermissionDenied
        return _section(request, record)

    tag_id = request.POST.get("tag_id", "").strip()
    # Without JavaScript the typed text (`q`) arrives alone: attach or create by that name.
    name = (request.POST.get("name") or request.POST.get("q") or "").strip()
    if tag_id:
        tag = Tag.objects.filter(pk=tag_id).first() if tag_id.isdecimal() else None
        if tag is None:
            return _section(request, record, error="That tag no longer exists.", status=400)
    elif name:
        tag = services.find_tag_by_name(name)
        if tag is None:
            if not request.user.has_perm("tags.manage_tag"):
                raise PermissionDenied("You may attach existing tags but not create new ones.")
            try:
                tag = services.create_tag(name, user=request.user)
            except ValidationError as error:
                message = " ".join(error.messages)
                return _section(request, record, error=message, status=400, refocus=True)
    else:
        return _section(request, record, error=NAME_REQUIRED, status=400, refocus=True)
    try:
        services.attach_tag(record, tag)
    except services.TagError as error:  # deleted or merged since it was picked
        return _section(request, record, error=str(error), status=400)
    return _section(request, record, refocus=True)


@login_required
@require_POST
def record_tag_remove(request: HttpRequest, record_type: str, pk: int, tag_id: int):
    """The × on a chip: detach the tag from this record; the tag itself stays."""
    taggable = taggable_or_404(record_type)
    record = _record(request, taggable, pk, change=True)
    tag = Tag.objects.filter(pk=tag_id).first()
    if tag is not None:
        services.detach_tag(record, tag)
    return _section(request, record)


def _ranked_matches(query: str):
    """Tags whose name contains `query`, those starting with it first (case-insensitive)."""
    starts = When(name__istartswith=query, then=Value(0))
    rank = Case(starts, default=Value(1), output_field=IntegerField())
    return (
        Tag.objects.filter(name__icontains=query)
        .annotate(rank=rank)
        .order_by("rank", Lower("name"), "id")
    )


@login_required
@view_tags_required
@require_GET
def tag_suggest(request: HttpRequest) -> HttpResponse:
    """The picker's listbox options for `q`.

    With `type` and `id` (the record page), tags already on the record are left
    out and, for users who may manage tags, "Create tag '…'" is offered when no
    tag has exactly that name. Without them (list filter, bulk bar) only
    existing tags are offered.
    """
    query = request.GET.get("q", "").strip()
    record = None
    taggable = TAGGABLE_TYPES.get(request.GET.get("type", ""))
    record_id = request.GET.get("id", "")
    if taggable is not None and record_id.isdecimal():
        record = _record(request, taggable, int(record_id), change=False)

    tags = _ranked_matches(query) if query else Tag.objects.order_by(USAGE.desc(), Lower("name"))
    attached = services.record_tags(record) if record is not None else Tag.objects.none()
    suggestions = list(tags.exclude(pk__in=attached.values("pk"))[:SUGGESTION_LIMIT])

    exact = services.find_tag_by_name(query) if query else None
    too_long = len(query) > Tag._meta.get_field("name").max_length
    context = {
        "query": query,
        "suggestions": [suggestion(tag) for tag in suggestions],
        "already_attached": exact is not None and attached.filter(pk=exact.pk).exists(),
        "offer_create": bool(
            record is not None
            and query
            and exact is None
            and not too_long
            and request.user.has_perm("tags.manage_tag")
            and request.user.has_perm(taggable.change_permission)
        ),
        "too_long": too_long,
        "may_create": request.user.has_perm("tags.manage_tag"),
        "for_record": record is not None,
    }
    return render(request, "tags/_suggestions.html", context)


# --- Bulk actions on the contacts, leads and deals lists -----------------------------------


def _capped_count(records) -> int:
    """The number of records, counted only up to one past the background-job threshold."""
    return records.order_by()[: settings.COHORT_BULK_TAG_JOB_ABOVE + 1].count()


def _count(n: int, taggable: TaggableType) -> str:
    opts = taggable.model._meta
    return f"{n} {opts.verbose_name if n == 1 else opts.verbose_name_plural}"


@login_required
@require_POST
def bulk_tags(request: HttpRequest, record_type: str) -> HttpResponse:
    """Add or remove the picked tags on the ticked rows, or on all rows matching the filter."""
    taggable = taggable_or_404(record_type)
    if not request.user.has_perm(taggable.change_permission):
        raise PermissionDenied
    form = BulkTagForm(request.POST)
    query = QueryDict(request.POST.get("query", ""))
    back = reverse(f"{taggable.model._meta.model_name}_list")
    if query:
        back = f"{back}?{query.urlencode()}"
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)

    data = form.cleaned_data
    model = taggable.model
    if data["all_matching"]:
        filterset = taggable.filterset_class(query, queryset=model.objects.all(), request=request)
        if not filterset.is_valid():
            messages.error(request, "The list's filter is not valid; nothing was changed.")
            return redirect(back)
        records = filterset.qs
    else:
        records = model.objects.filter(pk__in=data["ids"])

    adding = data["op"] == "add"
    matched = len(data["ids"]) if not data["all_matching"] else _capped_count(records)
    if matched > settings.COHORT_BULK_TAG_JOB_ABOVE:
        tags = {"add" if adding else "remove": data["tags"]}
        job = request_bulk_tagging(
            taggable,
            ids=None if data["all_matching"] else data["ids"],
            query=query if data["all_matching"] else None,
            user=request.user,
            matched=records.count(),
            **tags,
        )
        return redirect("job_detail", job.pk)
    changed = {}
    try:
        with transaction.atomic():
            # In id order, the order bulk_tag locks tags in, so two bulk actions cannot deadlock.
            for tag in sorted(data["tags"], key=lambda tag: tag.pk):
                add, remove = ([tag], []) if adding else ([], [tag])
                result = services.bulk_tag(
                    taggable, records, add=add, remove=remove, user=request.user
                )
                changed[tag.pk] = result.added if adding else result.removed
    except services.TagError as error:  # a tag deleted or merged since the form was shown
        messages.error(request, f"{error} Nothing was changed.")
        return redirect(back)
    preposition = "to" if adding else "from"
    parts = [
        f"'{tag.name}' {preposition} {_count(changed[tag.pk], taggable)}" for tag in data["tags"]
    ]
    messages.success(request, f"{'Added' if adding else 'Removed'} {' and '.join(parts)}.")
    return redirect(back)
