"""The Celery tasks behind every background job (jobs.services.run_job does the work), and
the reaper of jobs whose worker stopped (run by celery beat)."""

from celery import shared_task

from jobs import services


@shared_task(
    name="jobs.run_job", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None
)
def run_job_task(self, job_id: str) -> None:
    try:
        services.run_job(job_id)
    except services.RetryLater as wait:
        raise self.retry(countdown=wait.seconds) from wait


@shared_task(name="jobs.reap_lost_jobs")
def reap_lost_jobs_task() -> dict:
    """Fail running jobs whose worker stopped; queue syncs and exports again."""
    return services.reap_lost_jobs()
