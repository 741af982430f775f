"""`python -m bench` (what `make bench` runs).

Environment:
- BENCH_CONTACTS: dataset size (default 1,000,000);
- BENCH_REPEAT: runs per measurement, the median is reported (default 3; list
  pages and the preview take at least 5);
- BENCH_REUSE=1: keep an earlier dataset of the same size instead of rebuilding it
  (its build time is then the earlier build's, and the report says so);
- BENCH_SKIP: comma-separated operations to leave out (build, sync, lists, tags,
  bulk, export, preview, load, mixed);
- BENCH_MIXED_CONTACTS: the mixed load's own dataset (default 100,000; bench.mixed);
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
    from bench.report import Measured, Operation
    from segments.sync import sync_segment

    segment = _bench_segment(
        "bench export",
        {"conditions": [{"field": "created_at", "operator": "in_last_days", "value": RECENT_DAYS}]},
        user,
    )
    sync_segment(segment, user, wait=True)
    env = {**os.environ, "DATABASE_URL": database.url}
    cohort = [_export(segment.pk, user.username, "cohort", env) for _ in range(repeat)]
    physical = [_export(segment.pk, user.username, "physical", env) for _ in range(repeat)]

    def measured(runs: list[dict]) -> Measured:
        def median(key):
            values = sorted(run[key] for run in runs if run.get(key) is not None)
            return values[len(values) // 2] if values else None

        return Measured(
            wall_s=median("seconds"),
            client_cpu_s=median("cpu_s"),
            db_cpu_s=median("db_cpu_s"),
            wal_bytes=median("wal_bytes"),
            runs_s=[round(run["seconds"], 6) for run in runs],
        )

    cohort_measured, physical_measured = measured(cohort), measured(physical)
    rows = cohort[0]["rows"]
    rows_per_s = rows / cohort_measured.wall_s
    peak = max(run["peak_anon_mib"] for run in cohort)
    peak_rss = max(run["peak_rss_mib"] for run in cohort)
    return [
        Operation(
            "CSV export of a segment",
            cohort_measured,
            physical_measured,
            target="≥ 100,000 rows/s, peak < 200 MB",
            met=rows_per_s >= 100_000 and peak < 200,
            extra={
                "note": f"{rows:,} rows, {rows_per_s:,.0f} rows/s, peak {peak:.0f} MiB",
                "rows": rows,
                "rows_per_s": round(rows_per_s),
                "peak_anon_mib": peak,
                "peak_rss_mib": peak_rss,
                "physical_rows_per_s": round(physical[0]["rows"] / physical_measured.wall_s),
            },
        )
    ]


def mixed_operation():
    """The mixed read/write load (bench.mixed), in a process and a database of its own."""
    from bench.mixed import RESULT_PREFIX
    from bench.report import Measured, Operation

    finished = subprocess.run(
        [sys.executable, "-m", "bench.mixed"],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        cwd=bench_database.PROJECT_DIR,
    )
    line = next(
        line for line in reversed(finished.stdout.splitlines()) if line.startswith(RESULT_PREFIX)
    )
    result = json.loads(line.removeprefix(RESULT_PREFIX))
    return [
        Operation(
            result["name"],
            Measured(**result["cohort"]),
            None,
            target=result["target"],
            met=result["met"],
            extra=result["extra"],
        )
    ]


BUILD_ROWS_PER_S = 50_000


def build_operation(build, reused: bool):
    from bench import dataset
    from bench.report import Measured, Operation

    physical_rows, physical = dataset.physical_build()
    # The physical figure scaled to the build's rows (the same rows, so about 1×).
    scale = build.rows / physical_rows
    physical.wall_s *= scale
    rows_per_s = build.rows / build.seconds
    cohort = Measured(**build.measured) if build.measured else Measured(build.seconds)
    return Operation(
        "Build the dataset",
        cohort,
        physical,
        target=f"≥ {BUILD_ROWS_PER_S:,} rows/s",
        met=rows_per_s >= BUILD_ROWS_PER_S,
        extra={
            "note": f"{build.rows:,} rows, {rows_per_s:,.0f} rows/s"
            + (", earlier build" if reused else ""),
            "rows": build.rows,
            "rows_per_s": round(rows_per_s),
            "phases_s": build.phases,
            "deferred_indexes": build.deferred_indexes,
            "physical_rows_per_s": round(physical_rows / (physical.wall_s / scale)),
        },
    )


def main() -> int:
    contacts = _int_env("BENCH_CONTACTS", DEFAULT_CONTACTS)
    repeat = max(1, _int_env("BENCH_REPEAT", 3))
    skip = {name.strip() for name in os.environ.get("BENCH_SKIP", "").split(",") if name.strip()}
    reuse = os.environ.get("BENCH_REUSE", "") in {"1", "true", "yes"}
    results_dir = Path(os.environ.get("BENCH_RESULTS_DIR") or bench_database.BENCH_DIR / "results")
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    wall_started = time.perf_counter()

    database = bench_database.choose(contacts)
    if not reuse:
        bench_database.drop(database)
    bench_database.configure_django(database)

    from bench import dataset, load, operations
    from bench.report import table, write_results

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
    results = []
    if "build" not in skip:
        say("Physical limit of the build…")
        results.append(build_operation(build, reused))
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
        ("mixed", "Mixed reads and writes under load, own dataset (20 s)…", mixed_operation),
    ]
    try:
        for key, message, step in steps:
            if key in skip:
                continue
            say(message)
            rows = step()
            results += rows
            say("\n" + table(rows))
    finally:
        operations.drop_bench_segments()
    path = write_results(
        database.vendor,
        database.label,
        contacts,
        results,
        started_at,
        results_dir,
        settings={
            "repeat": repeat,
            "reused_dataset": reused,
            "skipped": sorted(skip),
            "load_average_at_start": load_at_start,
            "total_s": round(time.perf_counter() - wall_started, 1),
        },
    )
    print()
    print(table(results))
    print(f"\nWritten to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
