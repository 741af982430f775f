"""Large CSV imports and their dry runs as background jobs (jobs.services).

Files of more than settings.COHORT_IMPORT_JOB_ABOVE rows are checked and imported by a
worker: the upload is kept (transfers.uploads), and `run_import_job` streams it through
the same services as the request path — a dry run only counts, in bounded memory; an
import writes in one transaction. Either way the job's result is the import report the
request path answers.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.db import IntegrityError
from django.http import Http404

from accounts.models import User
from jobs import services as jobs
from jobs.choices import JobKind
from jobs.models import Job
from transfers import services, uploads

# Errors kept in the job's result; the whole list is in the upload's errors file.
ERRORS_IN_RESULT = 100


def estimated_rows(data: bytes) -> int:
    return services.estimated_rows(lambda: io.BytesIO(data))


def runs_as_job(rows: int) -> bool:
    """Whether a file of about `rows` rows is checked and imported in the background."""
    return rows > settings.COHORT_IMPORT_JOB_ABOVE


def request_import(
    record_type: str,
    token: str,
    *,
    user: User,
    mapping: list[str],
    on_duplicate: str,
    mode: str,
    rows: int,
    dry_run: bool = False,
) -> Job:
    """A job importing (or dry-running) the user's upload `token`, already stored."""
    params = {
        "record_type": record_type,
        "token": token,
        "mapping": mapping,
        "on_duplicate": on_duplicate,
        "mode": mode,
        "rows": rows,
        "dry_run": dry_run,
    }
    what = f"{rows:,} {record_type}"
    title = f"Dry run of an import of {what}" if dry_run else f"Import of {what}"
    return jobs.start_job(JobKind.IMPORT, title=title, params=params, user=user)


def run_import_job(job: Job, progress: jobs.ProgressReporter) -> dict:
    params, user = job.params, job.created_by
    dry_run = params.get("dry_run", False)
    if user is None:
        raise jobs.JobFailed("The person who asked for this import no longer exists.")
    try:
        path = uploads.upload_path(user, params["token"])
    except Http404 as gone:
        raise jobs.JobFailed(str(gone)) from gone
    progress("Reading the file", 5)
    rows, share = max(params["rows"], 1), 90 if dry_run else 45

    def checking(done: int) -> None:
        progress(f"Checking rows: {done:,} of about {rows:,}", 5 + min(share, share * done // rows))

    try:
        plan = services.plan_import(
            params["record_type"],
            services.open_stored_csv(path),
            params["mapping"],
            user=user,
            on_duplicate=params["on_duplicate"],
            keep_rows=not dry_run,
            progress=checking,
        )
    except services.ImportFileError as error:
        raise jobs.JobFailed(str(error)) from error
    if not dry_run:
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
    result.update(record_type=params["record_type"], token=params["token"], dry_run=dry_run)
    if dry_run:  # the upload stays, for the import that follows
        return result
    if not plan.imported:  # all or nothing, and some rows have errors
        errors = f"{plan.error_rows:,} row{'s' if plan.error_rows != 1 else ''}"
        raise jobs.JobFailed(f"Nothing was imported: {errors} with errors.", result=result)
    uploads.discard_upload(user, params["token"])
    return result
