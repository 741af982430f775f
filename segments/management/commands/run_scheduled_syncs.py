from django.core.management.base import BaseCommand

from segments.schedule import dispatch_due_syncs


class Command(BaseCommand):
    help = (
        "Start the scheduled segment syncs that are due, once; for setups without Celery "
        "beat, run it from cron every minute. Without a broker the syncs run here, inline."
    )

    def handle(self, *args, **options):
        started = dispatch_due_syncs()
        noun = "sync" if started == 1 else "syncs"
        self.stdout.write(f"Started {started} scheduled {noun}.")
