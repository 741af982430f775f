"""Import pages (upload → mapping → dry run → import) and the CSV exports of the lists.

Views check permissions and call transfers.services / transfers.export; they hold
no import rules of their own. Importing needs the record type's add permission
(and change to update existing records); exporting needs its view permission.
"""

import uuid

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from core.csv import csv_chunks, csv_response
from jobs.choices import JobKind, JobState
from jobs.models import Job
from jobs.services import visible_jobs
from jobs.summaries import job_summary
from tags.records import TaggableType, taggable_or_404, taggable_type_for
from transfers import export, services, uploads
from transfers.jobs import estimated_rows, request_import, runs_as_job
from transfers.services import ALL_OR_NOTHING, SKIP, UPDATE, VALID_ONLY, ImportFileError

ERRORS_SHOWN = 100


def _perm(taggable: TaggableType, action: str) -> str:
    opts = taggable.model._meta
    return f"{opts.app_label}.{action}_{opts.model_name}"


def _context(request: HttpRequest, taggable: TaggableType) -> dict:
    opts = taggable.model._meta
    return {
        "record_type": taggable.key,
        "verbose_name_plural": opts.verbose_name_plural,
        "list_url": reverse(f"{opts.model_name}_list"),
        "can_update": request.user.has_perm(_perm(taggable, "change")),
        "can_create_tags": request.user.has_perm("tags.manage_tag"),
    }


def _check_add(request: HttpRequest, taggable: TaggableType) -> None:
    if not request.user.has_perm(_perm(taggable, "add")):
        raise PermissionDenied


class TransferLinksMixin:
    """Composes onto a record's core.generic_views.ObjectListView: Import (for users who
    may add records) and Export CSV of the current filter."""

    def get_list_context(self, request: HttpRequest) -> dict:
        taggable = taggable_type_for(self.model)
        return {
            **super().get_list_context(request),
            "export_url": reverse("transfer_export", args=[taggable.key]),
            "import_url": reverse("transfer_import", args=[taggable.key])
            if request.user.has_perm(_perm(taggable, "add"))
            else "",
        }


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest, record_type: str) -> HttpResponse:
    """Step 1: choose a CSV file; a readable one is kept and the mapping page opens."""
    taggable = taggable_or_404(record_type)
    _check_add(request, taggable)
    context = _context(request, taggable)
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ImportFileError("Choose a CSV file to upload.")
            if upload.size > services.MAX_UPLOAD_BYTES:
                raise ImportFileError(
                    f"The file is larger than {services.MAX_UPLOAD_BYTES // (1024 * 1024)} MB; "
                    "split it into smaller files."
                )
            data = upload.read()
            # A file for a job has its rows checked there: the request stays short.
            services.read_csv(data, check_rows=not runs_as_job(estimated_rows(data)))
        except ImportFileError as error:
            context["error"] = str(error)
            return render(request, "transfers/import_upload.html", context, status=400)
        token = uploads.store_upload(request.user, data)
        return redirect("transfer_review", record_type=record_type, token=token)
    return render(request, "transfers/import_upload.html", context)


def _dry_run_job(request: HttpRequest, token: str) -> Job | None:
    """The finished dry run job (?job=) of this upload, when the page comes back from it."""
    try:
        job_id = uuid.UUID(request.GET.get("job", ""))
    except ValueError:
        return None
    job = visible_jobs(request.user).filter(pk=job_id, kind=JobKind.IMPORT).first()
    if job is None or job.params.get("token") != token or not job.params.get("dry_run"):
        return None
    return job if job.state == JobState.SUCCEEDED else None


def _options(request: HttpRequest, header: list[str], record_type: str, job: Job | None) -> tuple:
    if request.method != "POST":
        if job is not None:  # the choices the dry run was made with
            return job.params["mapping"], job.params["on_duplicate"], job.params["mode"]
        return services.propose_mapping(record_type, header), SKIP, VALID_ONLY
    mapping = [request.POST.get(f"map_{i}", "") for i in range(len(header))]
    on_duplicate = UPDATE if request.POST.get("on_duplicate") == UPDATE else SKIP
    mode = ALL_OR_NOTHING if request.POST.get("mode") == ALL_OR_NOTHING else VALID_ONLY
    return mapping, on_duplicate, mode


@login_required
@require_http_methods(["GET", "POST"])
def import_review(request: HttpRequest, record_type: str, token: str) -> HttpResponse:
    """Step 2 and 3: the first rows and the mapping; "Dry run" validates, "Import" writes."""
    taggable = taggable_or_404(record_type)
    _check_add(request, taggable)
    context = _context(request, taggable)
    path = uploads.upload_path(request.user, token)
    csv_file = services.open_stored_csv(path)
    rows = services.estimated_rows(lambda: path.open("rb"))
    in_background = runs_as_job(rows)
    dry_run_job = _dry_run_job(request, token) if request.method == "GET" else None
    mapping, on_duplicate, mode = _options(request, csv_file.header, record_type, dry_run_job)
    if on_duplicate == UPDATE and not context["can_update"]:
        raise PermissionDenied
    context.update(
        dry_run_job=dry_run_job,
        dry_run_summary=job_summary(dry_run_job) if dry_run_job else "",
        token=token,
        header=csv_file.header,
        columns=list(zip(csv_file.header, mapping, strict=True)),
        preview=csv_file.preview(services.PREVIEW_ROWS),
        # Counting a job's file exactly means reading it all: its lines are close enough.
        row_count=rows if in_background else csv_file.check(),
        rows_estimated=in_background,
        delimiter="semicolon" if csv_file.delimiter == ";" else "comma",
        fields=services.RECORD_FIELDS[record_type].fields,
        on_duplicate=on_duplicate,
        mode=mode,
    )
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if in_background:
            try:
                services.check_mapping(record_type, mapping)
            except ImportFileError as error:
                context["error"] = str(error)
                return render(request, "transfers/import_review.html", context, status=400)
            job = request_import(
                record_type,
                token,
                user=request.user,
                mapping=mapping,
                on_duplicate=on_duplicate,
                mode=mode,
                rows=rows,
                dry_run=action != "import",
            )
            return redirect("job_detail", job.pk)
        try:
            plan = services.plan_import(
                record_type, csv_file, mapping, user=request.user, on_duplicate=on_duplicate
            )
        except ImportFileError as error:
            context["error"] = str(error)
            return render(request, "transfers/import_review.html", context, status=400)
        if action == "import":
            try:
                services.run_import(plan, user=request.user, mode=mode)
            except IntegrityError:
                # Someone added one of these records since the dry run: nothing was written.
                context["error"] = (
                    "Records changed while importing (an email was taken meanwhile); nothing "
                    "was imported. Run the dry run again."
                )
                return render(request, "transfers/import_review.html", context, status=409)
        uploads.store_errors(request.user, token, services.error_rows(plan))
        context.update(
            plan=plan,
            errors=plan.errors[:ERRORS_SHOWN],
            refused=action == "import" and not plan.imported,
        )
        if plan.imported:
            uploads.discard_upload(request.user, token)
            return render(request, "transfers/import_done.html", context)
    return render(request, "transfers/import_review.html", context, status=status)


@login_required
@require_GET
def import_errors(request: HttpRequest, record_type: str, token: str) -> FileResponse:
    _check_add(request, taggable_or_404(record_type))
    path = uploads.errors_path(request.user, token)
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=f"{record_type}-import-errors.csv",
        content_type="text/csv; charset=utf-8",
    )


@login_required
@require_GET
def record_export(request: HttpRequest, record_type: str) -> HttpResponse:
    """Export CSV: every row the list shows for this query string, streamed."""
    taggable = taggable_or_404(record_type)
    if not request.user.has_perm(taggable.view_permission):
        raise PermissionDenied
    try:
        records = export.filtered_records(record_type, request.GET, request=request)
    except export.ExportFilterError as error:
        return HttpResponse(f"Invalid filter: {error}", status=400, content_type="text/plain")
    with_tags = request.user.has_perm("tags.view_tag")
    rows = export.record_rows(record_type, records, with_tags=with_tags)
    return csv_response(csv_chunks(rows), export.export_filename(record_type))


@login_required
@permission_required("tags.view_tag", raise_exception=True)
@require_GET
def tag_export(request: HttpRequest) -> StreamingHttpResponse:
    rows = export.tag_rows(request.GET.get("search", "").strip())
    return csv_response(csv_chunks(rows), export.export_filename("tags"))
