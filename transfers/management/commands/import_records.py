"""manage.py import_records TYPE FILE [--dry-run] [--update] [--all-or-nothing] [--user NAME]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from tags.records import TAGGABLE_TYPES
from transfers import services


class Command(BaseCommand):
    help = "Import contacts, leads or deals from a CSV file (the browser import's rules)."

    def add_arguments(self, parser):
        parser.add_argument("record_type", choices=sorted(TAGGABLE_TYPES))
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Validate only.")
        parser.add_argument("--update", action="store_true", help="Update rows whose email exists.")
        parser.add_argument(
            "--all-or-nothing", action="store_true", help="Import nothing if any row has errors."
        )
        parser.add_argument(
            "--user",
            help="Act as this user (their tag permission; owner of created tags). "
            "Without it the operator is trusted and may create tags.",
        )

    def handle(self, *args, record_type, file, dry_run, update, all_or_nothing, user, **options):
        acting = None
        if user:
            acting = User.objects.filter(username=user).first()
            if acting is None:
                raise CommandError(f"No user named {user!r}.")
        try:
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        try:
            plan = services.import_csv(
                record_type,
                data,
                user=acting,
                on_duplicate=services.UPDATE if update else services.SKIP,
                mode=services.ALL_OR_NOTHING if all_or_nothing else services.VALID_ONLY,
                dry_run=dry_run,
            )
        except services.ImportFileError as error:
            raise CommandError(str(error)) from None
        for error in plan.errors:
            self.stderr.write(f"row {error.row}, {error.column}: {error.reason}")
        if not dry_run and not plan.imported:
            raise CommandError(f"Nothing imported (all or nothing): {plan.summary()}")
        self.stdout.write(plan.summary())
