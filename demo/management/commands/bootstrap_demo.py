"""`manage.py bootstrap_demo`: the admin user and demo data on first start (`make run`)."""

import os
import time

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from demo.load import ADMIN_USERNAME, DEFAULT_CONTACTS, bootstrap_demo, vacuum_analyze


class Command(BaseCommand):
    help = (
        f"On first run create the superuser '{ADMIN_USERNAME}' (password from "
        "COHORT_ADMIN_PASSWORD, else generated and printed) and seed COHORT_DEMO_CONTACTS "
        f"demo contacts (default {DEFAULT_CONTACTS}). Later runs keep the data."
    )

    def handle(self, *args: object, **options: object) -> None:
        raw_contacts = os.environ.get("COHORT_DEMO_CONTACTS", "").strip()
        try:
            contacts = int(raw_contacts) if raw_contacts else DEFAULT_CONTACTS
        except ValueError:
            raise CommandError(
                f"COHORT_DEMO_CONTACTS must be a whole number, not {raw_contacts!r}."
            ) from None
        if contacts < 0:
            raise CommandError("COHORT_DEMO_CONTACTS must be zero or more.")

        started = time.perf_counter()
        try:
            result = bootstrap_demo(
                contacts=contacts, admin_password=os.environ.get("COHORT_ADMIN_PASSWORD") or None
            )
        except ValidationError as exc:
            raise CommandError(
                f"COHORT_ADMIN_PASSWORD is too weak: {' '.join(exc.messages)} "
                "Choose a stronger one, or unset it to have a password generated."
            ) from None
        if result.created:
            vacuum_analyze()
        if not result.created:
            self.stdout.write(f"User '{ADMIN_USERNAME}' already exists: keeping the existing data.")
            return
        elapsed = time.perf_counter() - started
        if result.seed:
            self.stdout.write(self.style.SUCCESS(f"{result.seed.summary()} in {elapsed:.1f} s."))
        self.stdout.write(f"Created superuser '{ADMIN_USERNAME}'.")
        if result.generated_password:
            self.stdout.write(self.style.WARNING(f"Admin password: {result.generated_password}"))
        else:
            self.stdout.write("Admin password: as set in COHORT_ADMIN_PASSWORD.")
