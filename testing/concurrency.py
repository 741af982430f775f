"""Race tests' helper: run service calls at the same moment in threads, each on its own connection.

On PostgreSQL the threads really interleave, so lock order and conflict handling
are what the tests exercise. SQLite's test database is one shared-cache in-memory
database: a second writer is told "database table is locked" at once instead of
waiting (busy_timeout does not cover shared-cache locks), so on SQLite a job that
meets that error is run again, which is what the file database's busy timeout does
in production. Either way the service's transaction must leave nothing half-done.
"""

import random
import threading
import time
from collections.abc import Callable

from django.db import OperationalError, connection, connections

JOIN_TIMEOUT = 60  # seconds: far above any job here; a thread still alive means a hang


def retried_while_locked(job: Callable, *, also: tuple[type[Exception], ...] = ()):
    """job(), run again while SQLite refuses it for another writer (or raises one of `also`)."""
    deadline = time.monotonic() + JOIN_TIMEOUT / 2
    while True:
        try:
            return job()
        except (OperationalError, *also) as error:
            locked = connection.vendor == "sqlite" and "locked" in str(error)
            if not (locked or isinstance(error, also)) or time.monotonic() > deadline:
                raise
        time.sleep(random.uniform(0.001, 0.01))


def in_threads(*jobs: Callable, also: tuple[type[Exception], ...] = ()) -> list:
    """Start every job together, one thread (and connection) each; their results or errors."""
    results: list = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def run(index: int, job: Callable) -> None:
        try:
            barrier.wait(timeout=JOIN_TIMEOUT)
            results[index] = retried_while_locked(job, also=also)
        except Exception as error:  # the test inspects it
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a job hangs (a lock never freed?)"
    return results


def errors_in(results: list) -> list[Exception]:
    return [result for result in results if isinstance(result, Exception)]
