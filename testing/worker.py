"""Tests with a real Celery worker: a `celery worker` process on the local Redis and the
test run's PostgreSQL database, started by the test, as production runs one.

The worker reads the committed data of the test database (tests using it need
`transactional_db`) and a queue of its own, so parallel test processes never take
each other's tasks. Job progress goes through Redis (the cache), as in production.

PostgreSQL only: SQLite's test database lives in the memory of the test process,
where no other process can reach it. Without Redis the tests skip, unless CI=true,
where they fail: a missing service must not pass for a green run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import kombu.pools
import pytest
import redis

from django.db import connection

from cohort.celery import app as celery_app

REDIS_URL = os.environ.get("COHORT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
START_TIMEOUT = 60
WAIT_TIMEOUT = 60


def require_postgres_and_redis() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a worker process cannot reach SQLite's in-memory test database")
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {error}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {error}")


def wait_for(check: Callable[[], object], what: str, timeout: float = WAIT_TIMEOUT):
    """check()'s first truthy answer, polled; a failure naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answer := check():
            return answer
        time.sleep(0.1)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what}")


@dataclass
class Worker:
    process: subprocess.Popen
    queue: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def start_worker(folder: Path, files_dir: Path, queue: str | None = None) -> Worker:
    """A worker on a queue of its own, or on `queue` (one taking over from a dead worker)."""
    queue = queue or f"cohort-test-{uuid.uuid4().hex[:12]}"
    log = folder / f"{queue}-{uuid.uuid4().hex[:6]}.log"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_BROKER_URL": REDIS_URL,
        "REDIS_URL": REDIS_URL,
        "COHORT_CELERY_QUEUE": queue,
        "COHORT_JOB_FILES_DIR": str(files_dir),
        "COHORT_LOG_LEVEL": "INFO",
        # A heartbeat every second, so a test sees one go silent quickly.
        "COHORT_JOB_HEARTBEAT_SECONDS": "1",
    }
    command = [sys.executable, "-m", "celery", "-A", "cohort", "worker"]
    command += ["--pool=prefork", "--concurrency=1", "--without-gossip", "--without-mingle"]
    command += ["--without-heartbeat", "-n", f"{queue}@%h", "-Q", queue, "--loglevel=INFO"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = Worker(process=process, queue=queue, log=log)
    try:
        wait_for(
            lambda: process.poll() is not None or " ready." in worker.output(),
            "the Celery worker to start",
            START_TIMEOUT,
        )
    except AssertionError:
        stop_worker(worker)
        raise
    if process.poll() is not None:
        raise AssertionError(f"The Celery worker exited:\n{worker.output()}")
    return worker


def stop_worker(worker: Worker) -> None:
    if worker.process.poll() is None:
        os.killpg(worker.process.pid, signal.SIGTERM)
        try:
            worker.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.process.pid, signal.SIGKILL)
            worker.process.wait(timeout=15)
    # The test's own queue goes with it: its binding and anything left unconsumed.
    redis.Redis.from_url(REDIS_URL).delete(f"_kombu.binding.{worker.queue}", worker.queue)


@contextmanager
def celery_conf(**overrides):
    """The Celery app's configuration changed for a while, then exactly as it was: keys it
    did not hold are removed again (a value put back would hide Django's settings, which
    the app otherwise reads through)."""
    changes = celery_app.conf.changes
    before = {key: changes[key] for key in overrides if key in changes}
    changes.update(overrides)
    forget_broker_connections()
    try:
        yield
    finally:
        for key in overrides:
            changes.pop(key, None)
        changes.update(before)
        forget_broker_connections()


def forget_broker_connections() -> None:
    """Drop the app's connection and producer pools, made for the broker URL of their
    first use: even an inline (eager) send makes them, for the default broker
    (amqp://localhost), and later sends would go there whatever the settings say."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    kombu.pools.reset()  # its registry hands a connection's old producer pool back


@pytest.fixture
def celery_worker_process(transactional_db, settings, tmp_path):
    """A running worker; jobs started by the test go to it instead of running inline."""
    require_postgres_and_redis()
    files_dir = tmp_path / "job-files"
    worker = start_worker(tmp_path, files_dir)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.COHORT_JOB_FILES_DIR = files_dir
    settings.CELERY_TASK_DEFAULT_QUEUE = worker.queue
    # The web side reads progress from the same Redis the worker writes it to.
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    # Keys as Django settings name them: the app reads its configuration through that prefix.
    with celery_conf(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=REDIS_URL):
        try:
            yield worker
        finally:
            stop_worker(worker)
        if worker.process.returncode not in (0, -signal.SIGTERM):
            sys.stderr.write(worker.output())
