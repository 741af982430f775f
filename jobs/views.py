"""Job pages: /admin/jobs (yours, newest first), /admin/jobs/{id} (polled by htmx while
it runs), /admin/jobs/{id}/download (an export's file)."""

from pathlib import Path

from django.contrib.auth.decorators import login_required, user_passes_test
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from core.htmx import is_partial
from jobs import services
from jobs.choices import JobKind
from jobs.summaries import job_context

RECENT = 50


def _may_follow_jobs(user) -> bool:
    if not services.may_follow_jobs(user):
        raise PermissionDenied
    return True


follower_required = user_passes_test(_may_follow_jobs)


@login_required
@follower_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = list(services.visible_jobs(request.user)[:RECENT])
    rows = [job_context(job) for job in jobs]
    return render(request, "jobs/job_list.html", {"rows": rows})


@login_required
@follower_required
@require_GET
def job_detail(request: HttpRequest, pk) -> HttpResponse:
    """The job's page; htmx polls get the status panel alone."""
    job = get_object_or_404(services.visible_jobs(request.user), pk=pk)
    context = job_context(job)
    if is_partial(request):
        response = render(request, "jobs/_job.html", context)
        if job.finished and job.kind == JobKind.SEGMENT_SYNC:
            # The segment page refreshes its member list and count when a sync ends.
            response["HX-Trigger"] = "membersChanged"
        return response
    return render(request, "jobs/job_detail.html", context)


@login_required
@follower_required
@require_GET
def job_download(request: HttpRequest, pk) -> FileResponse:
    job = get_object_or_404(services.visible_jobs(request.user), pk=pk)
    try:
        path, filename = services.export_file(job)
    except services.NoJobFile as error:
        raise Http404(str(error)) from None
    return csv_download(path, filename)


def csv_download(path: Path, filename: str) -> FileResponse:
    """An export file as a download (the pages and the API)."""
    return FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=filename,
        content_type="text/csv; charset=utf-8",
    )
