"""The benchmark harness still runs: 10,000 contacts, every operation once.

Not a timing test: it checks that `python -m bench` finished and wrote a
well-formed results file with every operation, on the database of this run.
"""

import json
import os
import shutil
from pathlib import Path

import pytest

from django.db import connection

from bench.tests.running import drop_smoke_database, run_module, smoke_env

EXPECTED_OPERATIONS = [
    "Build the dataset",
    "Sync from empty, tag condition",
    "Re-sync, no change, tag condition",
    "Sync from empty, relative date",
    "Re-sync, no change, relative date",
    "Sync from empty, OR group",
    "Re-sync, no change, OR group",
    "Contacts filtered by one tag, page 1",
    "Contacts filtered by one tag, page 100",
    "Contacts filtered by two tags, all of, page 1",
    "Contacts filtered by two tags, all of, page 100",
    "Tags page with usage counts",
    "Bulk add one tag",
    "Bulk remove one tag",
    "CSV export of a segment",
    "Segment preview count, three conditions",
    "API POST /api/crm/contacts/{id}/tags, 16 clients (CPU per request)",
]
MEASURED_KEYS = {"wall_s", "client_cpu_s", "db_cpu_s", "wal_bytes", "runs_s"}


@pytest.fixture
def wrk():
    if shutil.which("wrk") is None:
        message = "wrk is not installed (make test installs Debian's wrk package)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


def test_bench_runs_every_operation_and_writes_its_results(tmp_path: Path, wrk, db):
    env = smoke_env(
        tmp_path,
        BENCH_CONTACTS="10000",
        BENCH_REPEAT="1",
        BENCH_LOAD_SECONDS="2",
        BENCH_RESULTS_DIR=str(tmp_path / "results"),
        # The mixed load builds a dataset of its own: test_mixed_smoke.py runs it alone.
        BENCH_SKIP="mixed",
    )

    finished = run_module("bench", env)
    try:
        assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
        vendor = "postgresql" if connection.vendor == "postgresql" else "sqlite"
        results = json.loads((tmp_path / "results" / f"latest-{vendor}.json").read_text())
    finally:
        drop_smoke_database(env, "10000")

    assert results["contacts"] == 10_000
    assert results["database"] == ("PostgreSQL" if vendor == "postgresql" else "SQLite")
    assert results["machine"]["cores"] >= 1
    assert len(results["machine"]["load_average_at_start"]) == 3
    assert len(results["machine"]["load_average_at_end"]) == 3
    assert results["settings"]["repeat"] == 1
    assert [op["name"] for op in results["operations"]] == EXPECTED_OPERATIONS
    on_postgresql = vendor == "postgresql"
    for op in results["operations"]:
        assert set(op) >= {
            "name", "cohort_s", "physical_s", "ratio", "target", "met", "cohort", "physical",
            "raw_on_cohort_tables", "load_average", "extra",
        }  # fmt: skip
        assert op["cohort_s"] > 0 and op["physical_s"] > 0, op
        assert op["ratio"] == pytest.approx(op["cohort_s"] / op["physical_s"], rel=0.01)
        assert op["target"] and op["met"] in (True, False), op
        assert len(op["load_average"]) == 3
        for side in ("cohort", "physical"):
            measured = op[side]
            assert set(measured) == MEASURED_KEYS, op
            assert measured["client_cpu_s"] is not None and measured["client_cpu_s"] >= 0, op
            # The backend's CPU and WAL exist on PostgreSQL only (SQLite is in-process).
            assert (measured["db_cpu_s"] is not None) == on_postgresql, (side, op)
    by_name = {op["name"]: op for op in results["operations"]}
    for name in EXPECTED_OPERATIONS[1:7]:  # the syncs: medians of every run
        assert len(by_name[name]["cohort"]["runs_s"]) == 1
    assert by_name["Contacts filtered by one tag, page 1"]["raw_on_cohort_tables"]
    build = by_name["Build the dataset"]["extra"]
    assert build["rows"] > 10_000 and build["deferred_indexes"]
    assert set(build["phases_s"]) >= {"rows", "indexes", "tag_links", "vacuum"}
    load = results["operations"][-1]["extra"]
    assert load["requests"] > 0 and load["errors"] == 0 and load["counters_exact_after"]
    assert load["workers"] == 2 and load["worker_cpu_per_request_s"] > 0
    assert "| Operation | Cohort (median) | Physical limit |" in finished.stdout
