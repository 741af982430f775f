"""`python -m bench` (what `make bench` runs).

Environment:
- BENCH_CONTACTS: dataset size (default 1,000,000);
- BENCH_REPEAT: runs per measurement, the median is reported (default 3);
- BENCH_REUSE=1: keep an earlier dataset of the same size instead of rebuilding it
  (its build time is then the earlier build's, and the report says so);
- BENCH_SKIP: comma-separated operations to leave out (build, sync, lists, tags,
  bulk, export, preview, load);
- BENCH_RESULTS_DIR: where latest-<database>.json goes (default bench/results);
- DATABASE_URL: a PostgreSQL URL benchmarks PostgreSQL (in a database of its own).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import database as bench_database

DEFAULT_CONTACTS = 1_000_000


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").replace("_", "").replace(",", "")
    return int(raw) if raw else default


def _export(segment_id: int, username: str, mode: str, env: dict) -> dict:
    output = subprocess.run(
        [sys.executable, "-m", "bench.export_probe", mode, str(segment_id), username],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=bench_database.PROJECT_DIR,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def export_operation(database, user, repeat: int):
    from bench.operations import RECENT_DAYS, _bench_segment
    from bench.report import Operation
    from segments.sync import sync_segment

    segment = _bench_segment(
        "bench export",
        {"conditions": [{"field": "created_at", "operator": "in_last_days", "value": RECENT_DAYS}]},
        user,
    )
    sync_segment(segment, user, wait=True)
    env = {**os.environ, "DATABASE_URL": database.url}
    cohort = [_export(segment.pk, user.username, "cohort", env) for _ in range(repeat)]
    raw = [_export(segment.pk, user.username, "raw", env) for _ in range(repeat)]
    best = sorted(cohort, key=lambda run: run["seconds"])[len(cohort) // 2]
    raw_best = sorted(raw, key=lambda run: run["seconds"])[len(raw) // 2]
    rows_per_s = best["rows"] / best["seconds"]
    peak = max(run["peak_anon_mib"] for run in cohort)
    peak_rss = max(run["peak_rss_mib"] for run in cohort)
    return [
        Operation(
            "CSV export of a segment",
            best["seconds"],
            raw_best["seconds"],
            target="≥ 100,000 rows/s, peak < 200 MB",
            met=rows_per_s >= 100_000 and peak < 200,
            extra={
                "note": f"{best['rows']:,} rows, {rows_per_s:,.0f} rows/s, peak {peak:.0f} MiB",
                "rows": best["rows"],
                "rows_per_s": round(rows_per_s),
                "peak_anon_mib": peak,
                "peak_rss_mib": peak_rss,
                "raw_rows_per_s": round(raw_best["rows"] / raw_best["seconds"]),
            },
        )
    ]


def main() -> int:
    contacts = _int_env("BENCH_CONTACTS", DEFAULT_CONTACTS)
    repeat = max(1, _int_env("BENCH_REPEAT", 3))
    skip = {name.strip() for name in os.environ.get("BENCH_SKIP", "").split(",") if name.strip()}
    reuse = os.environ.get("BENCH_REUSE", "") in {"1", "true", "yes"}
    results_dir = Path(os.environ.get("BENCH_RESULTS_DIR") or bench_database.BENCH_DIR / "results")
    started_at = datetime.now(UTC).isoformat(timespec="seconds")

    database = bench_database.choose(contacts)
    if not reuse:
        bench_database.drop(database)
    bench_database.configure_django(database)

    from bench import dataset, load, operations
    from bench.report import Operation, table, write_results

    def say(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    say(
        f"Benchmark on {database.label} ({database.name}), {contacts:,} contacts, "
        f"median of {repeat}"
    )
    dataset.migrate()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    build = dataset.existing_build(database.name, contacts) if reuse else None
    reused = build is not None
    if build is None:
        if reuse:
            bench_database.drop(database)
            dataset.migrate()
        say("Building the dataset…")
        build = dataset.build(database.name, contacts)
    say(
        f"{build.summary} in {build.seconds:.1f} s" + (" (earlier build, reused)" if reused else "")
    )
    user = dataset.bench_user()
    results: list[Operation] = []
    if "build" not in skip:
        say("Raw SQL lower bound of the build…")
        raw_rows, raw_seconds = dataset.raw_insert_seconds()
        results.append(
            Operation(
                "Build the dataset",
                build.seconds,
                raw_seconds * build.rows / raw_rows,
                extra={
                    "note": f"{build.rows:,} rows, {build.rows / build.seconds:,.0f} rows/s"
                    + (", earlier build" if reused else ""),
                    "rows": build.rows,
                    "rows_per_s": round(build.rows / build.seconds),
                    "raw_rows_per_s": round(raw_rows / raw_seconds),
                },
            )
        )
    steps = [
        ("sync", "Segment syncs…", lambda: operations.segment_sync(user, repeat)),
        (
            "lists",
            "Contact lists…",
            lambda: operations.contact_lists(operations.signed_in_client(user), max(repeat, 5)),
        ),
        (
            "tags",
            "Tags page…",
            lambda: operations.tag_list(operations.signed_in_client(user), max(repeat, 5)),
        ),
        ("bulk", "Bulk tagging…", lambda: operations.bulk_tagging(user, repeat)),
        ("export", "CSV export…", lambda: export_operation(database, user, repeat)),
        ("preview", "Preview count…", lambda: operations.preview_count(max(repeat, 5))),
        ("load", "API under load (20 s)…", lambda: load.api_under_load(database, user)),
    ]
    try:
        for key, message, step in steps:
            if key in skip:
                continue
            say(message)
            rows = step()
            for row in rows:
                if row.met is None and row.target.startswith("≤ 1.3×"):
                    row.met = row.ratio is not None and row.ratio <= 1.3
            results += rows
            say("\n" + table(rows))
    finally:
        operations.drop_bench_segments()
    path = write_results(
        database.vendor, database.label, contacts, results, started_at, results_dir
    )
    print()
    print(table(results))
    print(f"\nWritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
