"""The local Redis and PostgreSQL that the production tests run against, or why not.

A service that is down skips those tests on a laptop; with CI=true it fails them,
so a missing service can never pass for a green run.
"""

import os
from urllib.parse import quote

import pytest
import redis

from django.db import connection

REDIS_URL = os.environ.get("COHORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def missing(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def reachable_redis() -> str:
    """COHORT_TEST_REDIS_URL (default the local Redis), once it answers a PING."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        missing(f"Redis at {REDIS_URL} is unreachable: {error}")
    return REDIS_URL


def postgres_url(database: str) -> str:
    """A URL for `database` on the PostgreSQL server of this test run."""
    db = connection.settings_dict
    credentials = quote(db.get("USER") or "postgres", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    server = f"{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return f"postgres://{credentials}@{server}/{quote(database, safe='')}"
