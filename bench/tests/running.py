"""Running a bench module as the smoke tests do: a process of its own, its files under
the test's tmp_path, its database named for this test process, dropped afterwards."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

from bench.database import PROJECT_DIR


def smoke_env(tmp_path: Path, **settings: str) -> dict:
    """The environment of a smoke run on this test run's database (SQLite or PostgreSQL)."""
    env = {
        **os.environ,
        "BENCH_VAR_DIR": str(tmp_path / "var"),
        # Its collectstatic must not rewrite the static files other tests' servers read.
        "COHORT_VAR_DIR": str(tmp_path / "cohort-var"),
        "BENCH_DATABASE_NAME": f"cohort_bench_smoke_{os.getpid()}",
        **settings,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if connection.vendor == "sqlite":
        env.pop("DATABASE_URL", None)
    return env


def run_module(module: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", module],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def drop_smoke_database(env: dict, choose_args: str) -> None:
    """Drop the PostgreSQL database `bench.database.choose(<choose_args>)` names (SQLite's
    file is under tmp_path)."""
    if not env.get("DATABASE_URL"):
        return
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from bench.database import choose, drop_for_good; "
            f"drop_for_good(choose({choose_args}))",
        ],
        cwd=PROJECT_DIR,
        env=env,
        check=True,
        timeout=120,
    )
