"""One line saying what a finished job did, in the words the pages use."""

from jobs.choices import JobKind, JobState
from jobs.models import Job
from jobs.services import with_live_progress


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def job_summary(job: Job) -> str:
    if job.state == JobState.FAILED:
        return job.error
    if job.state != JobState.SUCCEEDED or not job.result:
        return ""
    result = job.result
    if job.kind == JobKind.SEGMENT_SYNC:
        members = _plural(result["members_after"], "member", "members")
        return f"Synced: +{result['added']:,} added, −{result['removed']:,} removed, {members}."
    if job.kind == JobKind.SEGMENT_EXPORT:
        return f"Exported {_plural(result['rows'], 'member', 'members')}."
    if job.kind == JobKind.BULK_TAG:
        added = _plural(result["added"], "tag link", "tag links")
        # Records the user may not change were left alone (core.ownership); older jobs lack it.
        skipped = result.get("skipped") or 0
        others = f" {_plural(skipped, 'record', 'records')} skipped: not yours." if skipped else ""
        return f"Done: {added} added, {result['removed']:,} removed.{others}"
    if job.kind == JobKind.IMPORT:
        errors = _plural(result["errors"], "row", "rows")
        if result.get("dry_run"):
            return (
                f"Dry run: {result['new']:,} new, {result['updated']:,} updated, "
                f"{result['skipped']:,} skipped, {errors} with errors. Nothing was written."
            )
        return (
            f"Imported: {result['new']:,} new, {result['updated']:,} updated, "
            f"{result['skipped']:,} skipped, {errors} with errors."
        )
    return ""


def job_context(job: Job) -> dict:
    """What jobs/_job.html shows: the job with its latest progress, and its outcome."""
    job = with_live_progress(job)
    return {"job": job, "summary": job_summary(job)}
