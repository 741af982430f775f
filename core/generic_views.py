"""List, detail, edit and delete pages, written once and configured per record type.

Each checks the Django model permission for its action on the server: anonymous
users go to the login page, signed-in users without the permission get 403. Editing
and deleting also need ownership (core.ownership): someone else's record is a 403.
"""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views import View

from core.htmx import is_partial
from core.ownership import check_may_edit, may_edit
from core.paging import MAX_PAGE, BadCursor, fetch_page, positive_int

LIST_PAGE_SIZE = 50


class ModelPermissionMixin(PermissionRequiredMixin):
    model: type[Model]
    action = "view"

    def get_permission_required(self) -> list[str]:
        opts = self.model._meta
        return [f"{opts.app_label}.{self.action}_{opts.model_name}"]


def model_context(model: type[Model], user, obj: Model | None = None) -> dict:
    """Names and permissions a generic template needs to speak about `model` (and, for a
    record's own page, whether this user may edit that record)."""
    opts = model._meta
    mine = obj is None or may_edit(user, obj)
    return {
        "model_name": opts.model_name,
        "verbose_name": opts.verbose_name,
        "verbose_name_plural": opts.verbose_name_plural,
        "list_url": reverse(f"{opts.model_name}_list"),
        "add_url": reverse(f"{opts.model_name}_add"),
        "can_add": user.has_perm(f"{opts.app_label}.add_{opts.model_name}"),
        "can_change": mine and user.has_perm(f"{opts.app_label}.change_{opts.model_name}"),
        "can_delete": mine and user.has_perm(f"{opts.app_label}.delete_{opts.model_name}"),
    }


class ObjectListView(ModelPermissionMixin, View):
    """A filtered, sorted, paginated table; htmx requests get only the results partial.

    What other apps add to a record's list (tag chips, import and export links) they
    add by mixins overriding the two hooks, `prepare_rows` and `get_list_context`.
    """

    queryset: QuerySet
    filterset_class = None
    table_template: str
    template_name = "cohort/object_list.html"
    results_template = "cohort/_object_results.html"

    def prepare_rows(self, rows: QuerySet, request: HttpRequest) -> QuerySet:
        """The filtered rows before paging: a hook to load what the table shows with them."""
        return rows

    def get_list_context(self, request: HttpRequest) -> dict:
        """More template context for the list page and its results partial."""
        return {}

    def get(self, request: HttpRequest) -> HttpResponse:
        filterset = self.filterset_class(request.GET, queryset=self.queryset.all(), request=request)
        valid = filterset.is_valid()
        rows = filterset.qs if valid else self.queryset.none()
        count_rows = filterset.count_qs if valid else None
        rows = self.prepare_rows(rows, request)
        number = positive_int(request.GET.get("page"), 1, MAX_PAGE)
        # A filter that knows its exact count cheaply (one tag: its usage counter) says so.
        known_count = getattr(filterset, "known_count", None) if valid else None
        anchor_rows = getattr(filterset, "anchor_qs", None) if valid else None
        status, cursor_error = 200, ""
        try:
            page = fetch_page(
                rows,
                number,
                LIST_PAGE_SIZE,
                count_queryset=count_rows,
                cursor=request.GET.get("cursor") or None,
                keyset=True,
                known_count=known_count,
                anchor_queryset=anchor_rows,
            )
        except BadCursor as error:
            status, cursor_error = 400, str(error)
            page = fetch_page(self.queryset.none(), 1, LIST_PAGE_SIZE)
        context = {
            **model_context(self.model, request.user),
            "filterset": filterset,
            "page": page,
            "table_template": self.table_template,
            "ordering": request.GET.get("ordering", ""),
            "cursor_error": cursor_error,
            **self.get_list_context(request),
        }
        template = self.results_template if is_partial(request) else self.template_name
        return render(request, template, context, status=status)


class ObjectDetailView(ModelPermissionMixin, View):
    queryset: QuerySet
    template_name: str

    def get_extra_context(self, request: HttpRequest, obj: Model) -> dict:
        return {}

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = get_object_or_404(self.queryset, pk=pk)
        context = {
            **model_context(self.model, request.user, obj),
            "object": obj,
            **self.get_extra_context(request, obj),
        }
        return render(request, self.template_name, context)


class ObjectEditView(ModelPermissionMixin, View):
    """Create (no pk) or edit (pk) a record with a ModelForm; re-shows the form on errors."""

    form_class: type[ModelForm]
    template_name = "cohort/object_edit.html"

    def get_permission_required(self) -> list[str]:
        self.action = "change" if "pk" in self.kwargs else "add"
        return super().get_permission_required()

    def get_object(self, pk: int | None) -> Model | None:
        if pk is None:
            return None
        obj = get_object_or_404(self.model, pk=pk)
        check_may_edit(self.request.user, obj)
        return obj

    def save_record(self, record: Model) -> Model:
        """Persist the record; record types whose writes have consequences (live segments,
        counters) override this to call their app's save service."""
        record.save()
        return record

    def render_form(self, request, form, obj, status=200) -> HttpResponse:
        context = {**model_context(self.model, request.user), "form": form, "object": obj}
        return render(request, self.template_name, context, status=status)

    def get(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        obj = self.get_object(pk)
        return self.render_form(request, self.form_class(instance=obj, request=request), obj)

    def post(self, request: HttpRequest, pk: int | None = None) -> HttpResponse:
        obj = self.get_object(pk)
        form = self.form_class(request.POST, instance=obj, request=request)
        if not form.is_valid():
            return self.render_form(request, form, obj, status=400)
        with transaction.atomic():
            saved = self.save_record(form.save(commit=False))
            form.save_m2m()
        verb = "saved" if obj else "created"
        messages.success(request, f"{self.model._meta.verbose_name.capitalize()} “{saved}” {verb}.")
        return redirect(saved.get_absolute_url())


class ObjectDeleteView(ModelPermissionMixin, View):
    action = "delete"
    template_name = "cohort/object_delete.html"

    def delete_record(self, record: Model) -> None:
        """Delete the record; record types whose deletes have consequences override this
        to call their app's delete service."""
        record.delete()

    def get_object(self, pk: int) -> Model:
        obj = get_object_or_404(self.model, pk=pk)
        check_may_edit(self.request.user, obj)
        return obj

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.get_object(pk)
        context = {**model_context(self.model, request.user), "object": obj}
        return render(request, self.template_name, context)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.get_object(pk)
        name = str(obj)
        self.delete_record(obj)
        messages.success(request, f"{self.model._meta.verbose_name.capitalize()} “{name}” deleted.")
        return redirect(f"{self.model._meta.model_name}_list")
