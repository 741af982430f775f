"""Which database the benchmark uses, chosen before Django starts.

The benchmark never touches the project's own data: on SQLite it keeps its own
file under var/bench/, and with DATABASE_URL pointing at PostgreSQL it uses a
sibling database on the same server named cohort_bench_<contacts>
(BENCH_DATABASE_NAME overrides the name, BENCH_VAR_DIR the SQLite folder).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BENCH_DIR.parent
VAR_DIR = Path(os.environ.get("BENCH_VAR_DIR") or PROJECT_DIR / "var" / "bench")


@dataclass(frozen=True)
class BenchDatabase:
    vendor: str  # "sqlite" or "postgresql"
    url: str
    name: str  # file path or database name, for messages

    @property
    def label(self) -> str:
        return "SQLite" if self.vendor == "sqlite" else "PostgreSQL"


def _with_database_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def choose(contacts: int, kind: str = "") -> BenchDatabase:
    """The benchmark database for this run, created empty when it does not exist.

    `kind` names a dataset of its own (the mixed load's, bench.mixed), beside the main one.
    """
    url = os.environ.get("DATABASE_URL", "")
    suffix = f"_{kind}" if kind else ""
    if url.startswith(("postgres://", "postgresql://")):
        name = os.environ.get("BENCH_DATABASE_NAME") or f"cohort_bench_{contacts}"
        name += suffix
        _create_postgres_database(url, name)
        return BenchDatabase("postgresql", _with_database_name(url, name), name)
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / f"bench{suffix}-{contacts}.sqlite3"
    return BenchDatabase("sqlite", f"sqlite:///{path}", str(path))


def _create_postgres_database(url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(_with_database_name(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop(database: BenchDatabase) -> None:
    """Start over: remove the dataset (file or database)."""
    if database.vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(database.name + suffix).unlink(missing_ok=True)
        return
    import psycopg
    from psycopg import sql

    with psycopg.connect(_with_database_name(database.url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database.name))
        )
    _create_postgres_database(database.url, database.name)


def configure_django(database: BenchDatabase) -> None:
    """Point Django at the benchmark database, production-like (DEBUG off), and start it."""
    os.environ["DATABASE_URL"] = database.url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cohort.settings")
    # Production settings: no per-query debug log, compressed static files, templates cached.
    os.environ["COHORT_DEBUG"] = "0"
    # Production refuses to start without a key; this throwaway run (and its gunicorn,
    # which inherits the environment) gets a random one.
    os.environ.setdefault("COHORT_SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("COHORT_SSL_REDIRECT", "0")  # plain HTTP on loopback
    os.environ.setdefault("COHORT_SECURE_COOKIES", "0")
    import django

    django.setup()


def drop_for_good(database: BenchDatabase) -> None:
    """Remove the dataset and leave nothing behind (the smoke test's clean-up)."""
    drop(database)
    if database.vendor == "postgresql":
        import psycopg
        from psycopg import sql

        admin_url = _with_database_name(database.url, "postgres")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(database.name)
                )
            )
