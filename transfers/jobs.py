"""Large CSV imports as background jobs (jobs.services).

Files of more than settings.COHORT_IMPORT_JOB_ABOVE rows are imported by a worker:
the upload is kept (transfers.uploads), and `run_import_job` reads, checks and
writes it with the same services as the request path, in one transaction.
"""

from __future__ import annotations

from django.db import IntegrityError
from django.http import Http404

from accounts.models import User
from jobs import services as jobs
from jobs.choices import JobKind
from jobs.models import Job
from transfers import services, uploads

# Errors kept in the job's result; the whole list is in the upload's errors file.
ERRORS_IN_RESULT = 100


def request_import(
    record_type: str,
    token: str,
    *,
    user: User,
    mapping: list[str],
    on_duplicate: str,
    mode: str,
    rows: int,
) -> Job:
    """A job importing the user's upload `token` (already stored) with this mapping."""
    params = {
        "record_type": record_type,
        "token": token,
        "mapping": mapping,
        "on_duplicate": on_duplicate,
        "mode": mode,
        "rows": rows,
    }
    title = f"Import of {rows:,} {record_type}"
    return jobs.start_job(JobKind.IMPORT, title=title, params=params, user=user)


def run_import_job(job: Job, progress: jobs.ProgressReporter) -> dict:
    params, user = job.params, job.created_by
    if user is None:
        raise jobs.JobFailed("The person who asked for this import no longer exists.")
    try:
        data = uploads.load_upload(user, params["token"])
    except Http404 as gone:
        raise jobs.JobFailed(str(gone)) from gone
    progress("Reading the file", 5)
    csv_file = services.read_csv(data)
    progress(f"Checking {len(csv_file.rows):,} rows", 15)
    plan = services.plan_import(
        params["record_type"],
        csv_file,
        params["mapping"],
        user=user,
        on_duplicate=params["on_duplicate"],
    )
    progress("Writing records", 50)
    try:
        services.run_import(plan, user=user, mode=params["mode"])
    except IntegrityError as error:
        raise jobs.JobFailed(
            "Records changed while importing (an email was taken meanwhile); nothing was "
            "imported. Run the dry run again."
        ) from error
    uploads.store_errors(user, params["token"], services.error_rows(plan))
    result = plan.as_dict()
    result["error_list"] = result["error_list"][:ERRORS_IN_RESULT]
    result.update(record_type=params["record_type"], token=params["token"])
    if not plan.imported:  # all or nothing, and some rows have errors
        errors = f"{plan.error_rows:,} row{'s' if plan.error_rows != 1 else ''}"
        raise jobs.JobFailed(f"Nothing was imported: {errors} with errors.", result=result)
    uploads.discard_upload(user, params["token"])
    return result
