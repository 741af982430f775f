"""`python -m bench.live_update`: what a live update costs per changed contact.

On the benchmark's dataset (bench.dataset, built by Cohort's seed), with
BENCH_LIVE_SEGMENTS live segments (default 50) of varied criteria — tags, fields,
OR and NOT groups, deal counts and values, relative dates, membership of another
live segment — it times `segments.live.update_live_segments`, the body of the
task that follows a change, for one changed contact and for a batch of 1,000:

- after a change (a tag attached and the lead score moved, so contacts join and
  leave), and again with nothing left to change (the cost of looking);
- end to end, a tag attach through tags.services in its own transaction, the
  update running inline after the commit (no broker: the same code a worker runs).

Then it checks the result: a full sync of every live segment must find nothing
to add or remove. The segments, the tag and its links are removed afterwards, so
the dataset stays as seeded.

Environment: BENCH_CONTACTS (default 100,000), BENCH_REPEAT (runs per figure,
median reported; default 7), BENCH_REUSE=1 (keep a dataset of the same size),
BENCH_LIVE_SEGMENTS, DATABASE_URL (a PostgreSQL URL benchmarks PostgreSQL, in a
database of its own), BENCH_RESULTS_DIR (where live-update-<database>.json/.md go).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import database as bench_database

DEFAULT_CONTACTS = 100_000
BATCH = 1_000
BENCH_TAG = "bench-live"
SEGMENT_PREFIX = "bench live "


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").replace("_", "").replace(",", "")
    return int(raw) if raw else default


def criteria_set(count: int, tags: list[int], bench_tag: int) -> list[dict]:
    """`count` varied criteria; the bench tag appears in some, so changes move members."""

    def one(field, operator, value=None):
        return {"field": field, "operator": operator, "value": value}

    def group(match, *conditions):
        return {"match": match, "conditions": list(conditions)}

    stages = ["subscriber", "lead", "customer"]
    templates = [
        lambda i: group("all", one("tags", "has", bench_tag)),
        lambda i: group("all", one("tags", "has", tags[i % len(tags)])),
        lambda i: group(
            "any", one("tags", "has", bench_tag), one("lead_score", "greater_than", 90 - i % 10)
        ),
        lambda i: group("all", one("country", "equals", ["US", "GB", "DE", "FR"][i % 4])),
        lambda i: group(
            "all",
            one("lifecycle_stage", "in", stages[: 1 + i % 3]),
            one("lead_score", "between", [i % 50, 50 + i % 50]),
        ),
        lambda i: group("all", one("deals_count", "greater_or_equal", 1 + i % 2)),
        lambda i: group("all", one("won_deals_value", "greater_than", 1000 * (1 + i % 5))),
        lambda i: group("all", one("last_activity_at", "in_last_days", 30 + i)),
        lambda i: group(
            "none",
            one("tags", "has_any", [tags[i % len(tags)], bench_tag]),
            one("email", "is_empty"),
        ),
        lambda i: group(
            "all",
            one("tags", "has_all", [tags[i % len(tags)], tags[(i + 1) % len(tags)]]),
            group("any", one("country", "equals", "US"), one("lead_score", "less_than", 20)),
        ),
    ]
    return [templates[i % len(templates)](i) for i in range(count)]


def main() -> int:
    contacts = _int_env("BENCH_CONTACTS", DEFAULT_CONTACTS)
    repeat = max(1, _int_env("BENCH_REPEAT", 7))
    live_count = max(1, _int_env("BENCH_LIVE_SEGMENTS", 50))
    reuse = os.environ.get("BENCH_REUSE", "") in {"1", "true", "yes"}
    results_dir = Path(os.environ.get("BENCH_RESULTS_DIR") or bench_database.BENCH_DIR / "results")
    database = bench_database.choose(contacts)
    if not reuse:
        bench_database.drop(database)
    bench_database.configure_django(database)

    from django.db import connection, transaction

    from bench import dataset
    from bench.report import Measured, Operation, table
    from contacts.models import Contact
    from segments import services as segment_services
    from segments.criteria import uses_relative_dates
    from segments.live import update_live_segments
    from segments.models import Segment, SegmentMember
    from segments.sync import sync_segment
    from tags import services as tag_services
    from tags.models import ContactTag, Tag
    from tags.records import TAGGABLE_TYPES

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    say(f"Live updates on {database.label} ({database.name}), {contacts:,} contacts")
    dataset.migrate()
    build = dataset.existing_build(database.name, contacts) if reuse else None
    if build is None:
        if reuse:
            bench_database.drop(database)
            dataset.migrate()
        say("Building the dataset…")
        build = dataset.build(database.name, contacts)
    say(build.summary)
    user = dataset.bench_user()
    rng = random.Random(2026)
    links = ContactTag._meta.db_table

    def execute(sql: str, params=()) -> int:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount

    def clean_up() -> None:
        for segment in Segment.objects.filter(name__startswith=SEGMENT_PREFIX).order_by("-pk"):
            execute(
                f"DELETE FROM {SegmentMember._meta.db_table} WHERE segment_id = %s", [segment.pk]
            )
            segment.delete()
        tag = Tag.objects.filter(slug=BENCH_TAG).first()
        if tag is not None:
            execute(f"DELETE FROM {links} WHERE tag_id = %s", [tag.pk])
            tag.delete()

    clean_up()
    ids = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    popular = list(Tag.objects.order_by("-contacts_count", "pk").values_list("pk", flat=True)[:40])
    bench_tag = tag_services.create_tag(BENCH_TAG, user=user)
    # 2 % of the contacts carry the bench tag to begin with.
    tag_services.bulk_tag(
        TAGGABLE_TYPES["contacts"],
        Contact.objects.filter(pk__in=rng.sample(ids, len(ids) // 50)),
        add=[bench_tag],
        audit=False,
    )
    say(f"Creating {live_count} live segments (each is synced once as it is made live)…")
    started = time.perf_counter()
    made = []
    for index, criteria in enumerate(criteria_set(live_count, popular, bench_tag.pk)):
        if index % 10 == 9 and made:  # some depend on another live segment
            criteria = {
                "match": "all",
                "conditions": [
                    *criteria["conditions"][:1],
                    {"field": "segment", "operator": "in_segment", "value": made[-1].pk},
                ],
            }
        made.append(
            segment_services.create_segment(
                name=f"{SEGMENT_PREFIX}{index + 1:02d}", criteria=criteria, user=user, mode="live"
            )
        )
    members = sum(
        Segment.objects.filter(pk__in=[s.pk for s in made]).values_list("member_count", flat=True)
    )
    say(f"  made and filled in {time.perf_counter() - started:.1f} s, {members:,} memberships")

    def change(contact_ids: list[int]) -> None:
        """Toggle the bench tag and move the lead score of these contacts, without any hook."""
        with transaction.atomic():
            placeholders = ", ".join(["%s"] * len(contact_ids))
            tagged = {
                row[0]
                for row in ContactTag.objects.filter(
                    tag=bench_tag, record_id__in=contact_ids
                ).values_list("record_id")
            }
            execute(
                f"DELETE FROM {links} WHERE tag_id = %s AND record_id IN ({placeholders})",
                [bench_tag.pk, *contact_ids],
            )
            untagged = [pk for pk in contact_ids if pk not in tagged]
            if untagged:
                ContactTag.objects.bulk_create(
                    [ContactTag(record_id=pk, tag=bench_tag) for pk in untagged]
                )
            Contact.objects.filter(pk__in=contact_ids).update(lead_score=rng.randint(0, 100))

    def timed(run) -> tuple[float, object]:
        begin = time.perf_counter()
        result = run()
        return time.perf_counter() - begin, result

    operations = []

    def measure(label: str, size: int) -> None:
        after_change, looking, moved = [], [], 0
        for _ in range(repeat):
            batch = rng.sample(ids, size)
            change(batch)
            seconds, result = timed(lambda b=batch: update_live_segments(b))
            after_change.append(seconds)
            moved += result.joined + result.left
            seconds, result = timed(lambda b=batch: update_live_segments(b))
            looking.append(seconds)
            if result.joined or result.left:
                raise RuntimeError(f"A second pass changed {result}: not idempotent")
        for name, times, note in (
            (
                f"Live update after a change, {label}",
                after_change,
                f"{moved / repeat:.1f} joins and leaves per run",
            ),
            (f"Live update with nothing to change, {label}", looking, ""),
        ):
            median = statistics.median(times)
            per_contact = median * 1000 / size
            # The target: one changed contact, 50 live segments, ≤ 15 ms.
            one_after_change = size == 1 and name.startswith("Live update after a change")
            operations.append(
                Operation(
                    name,
                    Measured(median, runs_s=[round(t, 6) for t in times]),
                    None,
                    target="≤ 15 ms" if one_after_change else "",
                    met=median <= 0.015 if one_after_change else None,
                    extra={
                        "note": f"{per_contact:.2f} ms per contact" + (f", {note}" if note else ""),
                        "ms_per_contact": round(per_contact, 3),
                        "contacts": size,
                        "live_segments": live_count,
                    },
                )
            )
            say(f"  {name}: {median * 1000:.1f} ms, {per_contact:.2f} ms per contact")

    say("One contact…")
    measure("1 contact", 1)
    say(f"A batch of {BATCH:,} contacts…")
    measure(f"{BATCH:,} contacts", BATCH)

    say("End to end: attach_tag, commit, live update inline…")
    end_to_end = []
    for _ in range(repeat):
        contact = Contact.objects.get(pk=rng.choice(ids))
        tag_services.detach_tag(contact, bench_tag)
        begin = time.perf_counter()
        tag_services.attach_tag(contact, bench_tag)  # its own transaction; the update on commit
        end_to_end.append(time.perf_counter() - begin)
    median = statistics.median(end_to_end)
    operations.append(
        Operation(
            "Tag attach through the service, live update inline after commit",
            Measured(median, runs_s=[round(t, 6) for t in end_to_end]),
            None,
            extra={"note": "eager mode, no broker", "live_segments": live_count},
        )
    )
    say(f"  {median * 1000:.1f} ms")

    say("Checking: a full sync of every live segment finds nothing to change…")
    drift, clock = {}, {}
    for segment in Segment.objects.filter(pk__in=[s.pk for s in made]).order_by("pk"):
        run = sync_segment(segment, user, wait=True)
        if run.outcome != "succeeded":
            drift[segment.name] = run.error
        elif run.added or run.removed:
            # "In the last N days" moves with the clock: contacts crossed it since the
            # segment was filled (the periodic sweep's job), with no change of their own.
            where = clock if uses_relative_dates(segment.criteria) else drift
            where[segment.name] = (run.added, run.removed)
    clean_up()
    if drift:
        raise RuntimeError(f"Live membership differs from a sync: {drift}")
    say("  exact: every live segment matches its sync")
    if clock:
        say(f"  (relative dates moved on meanwhile, as the sweep expects: {clock})")

    print()
    print(table(operations))
    results_dir.mkdir(parents=True, exist_ok=True)
    data = {
        "database": database.label,
        "contacts": contacts,
        "live_segments": live_count,
        "repeat": repeat,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "operations": [op.as_json() for op in operations],
    }
    path = results_dir / f"live-update-{database.vendor}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    (results_dir / f"live-update-{database.vendor}.md").write_text(table(operations) + "\n")
    print(f"\nWritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
