from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from jobs.services import reap_lost_jobs
from segments.jobs import dispatch_due_syncs, sweep
from segments.live import segments_to_sweep


class Command(BaseCommand):
    help = (
        "Do once what Celery beat does for segments, for setups without it (run it from cron "
        "every minute): start the scheduled syncs that are due, and re-sync the live segments "
        "with relative dates not synced for COHORT_LIVE_SWEEP_MINUTES, each sync a job; and "
        "fail the running jobs whose process stopped, queuing syncs and exports again. "
        "Without a broker the syncs run here, inline."
    )

    def handle(self, *args, **options):
        reaped = reap_lost_jobs()
        if reaped["lost"]:
            self.stdout.write(
                f"Jobs whose process stopped: {reaped['lost']} marked lost, "
                f"{reaped['requeued']} queued again."
            )
        started = dispatch_due_syncs()
        noun = "sync" if started == 1 else "syncs"
        self.stdout.write(f"Started {started} scheduled {noun}.")
        since = timezone.now() - timedelta(minutes=settings.COHORT_LIVE_SWEEP_MINUTES)
        swept = sweep(segments_to_sweep(synced_before=since))
        if any(swept.values()):
            done = f"{swept['synced']} re-synced"
            if swept["queued"]:  # with a broker: the worker syncs them
                done += f", {swept['queued']} queued for a worker"
            self.stdout.write(
                f"Live segments with relative dates: {done}, {swept['busy']} already syncing, "
                f"{swept['failed']} failed."
            )
