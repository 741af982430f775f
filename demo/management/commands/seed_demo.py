"""`manage.py seed_demo`: add reproducible demo data (see demo.load)."""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.load import DEFAULT_CONTACTS, DEFAULT_SEED, DEFAULT_TAGS, seed_demo, vacuum_analyze


class Command(BaseCommand):
    help = (
        "Add demo contacts with their leads, deals and activities. "
        "Each run appends; the same seed on an empty database gives the same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--contacts",
            type=int,
            default=DEFAULT_CONTACTS,
            help=f"How many contacts to add (default {DEFAULT_CONTACTS}).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=DEFAULT_SEED,
            help=f"Random seed (default {DEFAULT_SEED}).",
        )
        parser.add_argument(
            "--tags",
            type=int,
            default=DEFAULT_TAGS,
            help=f"How many demo tags to spread over the new records (default {DEFAULT_TAGS}).",
        )

    def handle(self, *args: object, contacts: int, seed: int, tags: int, **options: object) -> None:
        if contacts < 0:
            raise CommandError("--contacts must be zero or more.")
        if tags < 0:
            raise CommandError("--tags must be zero or more.")
        started = time.perf_counter()
        result = seed_demo(contacts=contacts, seed=seed, tags=tags)
        vacuum_analyze()
        elapsed = time.perf_counter() - started
        self.stdout.write(self.style.SUCCESS(f"{result.summary()} in {elapsed:.1f} s."))
