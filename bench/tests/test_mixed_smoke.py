"""The mixed load (bench.mixed) still runs: a tiny dataset of its own, a 2-second load.

Not a timing test (the machine is shared): it checks that every kind of request was
made and answered without an error, the counters stayed exact, and the result line is
what bench/__main__.py reads.
"""

import json
from pathlib import Path

from bench.mixed import RESULT_PREFIX
from bench.tests.running import drop_smoke_database, run_module, smoke_env

KINDS = {
    "API contact list with filters",
    "Contacts list page with filters",
    "Contact record page",
    "Tag attach (API)",
    "Tag detach (API)",
    "Segment preview (API)",
}


def test_the_mixed_load_runs_every_kind_of_request_without_errors(tmp_path: Path, db):
    env = smoke_env(tmp_path, BENCH_MIXED_CONTACTS="1000", BENCH_LOAD_SECONDS="3")

    finished = run_module("bench.mixed", env)
    try:
        assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    finally:
        drop_smoke_database(env, "1000, kind='mixed'")
    line = next(line for line in finished.stdout.splitlines() if line.startswith(RESULT_PREFIX))
    result = json.loads(line.removeprefix(RESULT_PREFIX))

    extra = result["extra"]
    assert extra["contacts"] == 1000 and extra["clients"] == 16
    assert extra["requests"] > 0 and extra["errors"] == 0, extra["error_examples"]
    assert extra["counters_exact_after"]
    assert set(extra["by_kind"]) == KINDS
    assert all(kind["requests"] > 0 for kind in extra["by_kind"].values())
    assert 0 < extra["p50_s"] <= extra["p99_s"] <= extra["max_s"]
    assert result["target"] == "0 errors, no request over 5 s"
    assert result["met"] == (extra["max_s"] < 5)
