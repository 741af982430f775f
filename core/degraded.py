"""Warnings about a degraded dependency (Redis down), logged once per interval.

While the cache or the broker is down every request meets the same failure; a line per
request would drown the log, so each kind of failure is logged at most once per
COHORT_DEGRADED_LOG_SECONDS (default 60) in each process.
"""

import logging
import os
import threading
import time

_last_logged: dict[str, float] = {}
_lock = threading.Lock()


def warn_every(logger: logging.Logger, kind: str, message: str, *args) -> bool:
    """Log `message` as a warning unless `kind` was logged within the interval; whether it was."""
    interval = float(os.environ.get("COHORT_DEGRADED_LOG_SECONDS", "60"))
    now = time.monotonic()
    with _lock:
        last = _last_logged.get(kind)
        if last is not None and now - last < interval:
            return False
        _last_logged[kind] = now
    logger.warning(message, *args)
    return True


def forget_warnings() -> None:
    """Tests: every kind may be logged again at once."""
    with _lock:
        _last_logged.clear()
