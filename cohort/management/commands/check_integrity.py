"""manage.py check_integrity [--repair]: rows that outlived what they refer to.

Runs every check of cohort.integrity.CHECKS; exits 1 when something was found and not
repaired, so a cron job or CI notices.
"""

from django.core.management.base import BaseCommand, CommandError

from cohort.integrity import CHECKS


class Command(BaseCommand):
    help = "Report rows that refer to deleted records (no database constraint guards them)."

    def add_arguments(self, parser):
        parser.add_argument("--repair", action="store_true", help="Delete the stray rows.")

    def handle(self, *args, repair: bool = False, **options):
        found = []
        for check in CHECKS:
            for finding in check(repair=repair):
                self.stdout.write(str(finding))
                found.append(finding)
        if not found:
            self.stdout.write("No stray rows.")
        elif not repair:
            raise CommandError(
                f"{sum(f.count for f in found)} stray row(s); --repair deletes them."
            )
