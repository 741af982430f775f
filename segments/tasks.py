"""Celery shells of segments' background work; each body is in segments.live or segments.jobs.

Queued by name (core.queue): segments.notify queues the live re-evaluations and the
follow-ups of a sync (bodies in segments.live); segments.services queues the full sync
of a segment made live or given new criteria, which becomes a job (segments.jobs);
celery beat runs the sweep and the dispatcher (CELERY_BEAT_SCHEDULE in the settings),
whose syncs are jobs too. The jobs themselves run in jobs.tasks.
AppConfig.ready() imports this module, so every name is registered in web processes too.

Each takes ids, is safe to run twice (a re-evaluation that finds nothing to change
changes nothing) and is acknowledged only once it has run, so a worker that dies
mid-task leaves it to another; a database error rolls the segment's transaction
back and the task is retried. Without a broker they run inline, in the caller.
"""

from __future__ import annotations

from celery import shared_task

from django.db import DatabaseError

from accounts.models import User
from segments import jobs, live
from segments.choices import SyncStart
from segments.models import Segment

RETRY = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    # Deadlocks, lock timeouts, a contact deleted under an insert: the next try sees the end.
    "autoretry_for": (DatabaseError,),
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "max_retries": 5,
}


@shared_task(name="segments.update_live_segments", **RETRY)
def update_live_segments_task(contact_ids: list[int]) -> dict:
    """Re-evaluate these contacts against every live segment (segments.live)."""
    result = live.update_live_segments(contact_ids)
    return vars(result)


@shared_task(name="segments.follow_sync_run", **RETRY)
def follow_sync_run_task(run_id: int) -> dict:
    """Live segments that test membership of a synced segment follow its changes."""
    return vars(live.update_after_sync(run_id))


@shared_task(name="segments.sync_segment", **RETRY)
def sync_segment_task(
    segment_id: int, user_id: int | None = None, start: str = SyncStart.MADE_LIVE
) -> str:
    """The full sync of a segment made live or given new criteria, as a job (segments.jobs);
    the job's state ("deleted" when the segment is gone).

    Queued by segments.services when that change commits. The job waits for a sync
    already running, since that one may have read the older criteria.
    """
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:
        return "deleted"
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    return jobs.request_sync(segment, user, start=start).state


@shared_task(name="segments.sweep_live_segments", acks_late=True)
def sweep_live_segments() -> dict:
    """Re-sync the live segments whose criteria use relative dates, each as a job (run by
    celery beat); how many synced, queued, busy and failed (segments.jobs.sweep)."""
    return jobs.sweep(live.segments_to_sweep())


@shared_task(name="segments.dispatch_scheduled_syncs", acks_late=True)
def dispatch_scheduled_syncs() -> int:
    """Start the scheduled syncs that are due (run by celery beat every minute).

    Safe to run twice: a segment it starts is due again only an interval later.
    """
    return jobs.dispatch_due_syncs()
