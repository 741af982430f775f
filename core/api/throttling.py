"""API rate limits: per signed-in user and per anonymous client address.

Rates come from the environment at request time (COHORT_API_THROTTLE_USER, default
"3000/min"; COHORT_API_THROTTLE_ANON, default "60/min"), so operators, tests and load
tests change them without a restart; "none" switches a limit off. DRF's own
SimpleRateThrottle reads its rates once at import and keeps a list of every request
time in the cache, which is costly at hundreds of requests a second from one token;
these count requests in fixed windows instead (one cache `incr` per request).

The counts live in Django's default cache: Redis with REDIS_URL, shared by every process,
otherwise each process's memory. While that cache is unreachable the limits fail open:
requests are served unthrottled, and the outage is logged once per interval (M1).
"""

import logging
import math
import os
import re
import time

from django.core.cache import cache as default_cache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.throttling import BaseThrottle

from core.degraded import warn_every

logger = logging.getLogger(__name__)

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
PERIODS |= {"h": 3600, "hour": 3600, "d": 86400, "day": 86400}
RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*$")
OFF = {"none", "off", "unlimited"}


def parse_rate(name: str, value: str) -> tuple[int, int] | None:
    """`"3000/min"` → (3000, 60); `"100/5s"` → (100, 5); `"none"` → None (no limit)."""
    if value.strip().lower() in OFF:
        return None
    match = RATE.match(value.lower())
    if not match or match[3] not in PERIODS or int(match[2] or 1) == 0:
        raise ImproperlyConfigured(
            f"{name}={value!r} is not a rate: write it like '3000/min', '50/s', '100/5min' "
            f"or 'none' (periods: s, min, hour, day)."
        )
    return int(match[1]), int(match[2] or 1) * PERIODS[match[3]]


class EnvironmentRateThrottle(BaseThrottle):
    """At most N requests per window for each client, N and the window from the environment."""

    scope: str
    env_name: str
    default_rate: str
    cache = default_cache
    timer = time.time

    def get_rate(self) -> tuple[int, int] | None:
        return parse_rate(self.env_name, os.environ.get(self.env_name) or self.default_rate)

    def get_client_key(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        rate, client = self.get_rate(), self.get_client_key(request)
        if rate is None or client is None:
            return True
        limit, period = rate
        now = self.timer()
        window = int(now // period)
        key = f"throttle:{self.scope}:{client}:{period}:{window}"
        try:
            count = self.count(key, period)
        except Exception as error:  # the cache is down: serve rather than answer 500
            warn_every(
                logger,
                "throttle-cache",
                "API rate limits are off: their cache is unreachable (%s: %s)",
                type(error).__name__,
                error,
            )
            return True
        if count <= limit:
            return True
        self.retry_after = max(1, math.ceil((window + 1) * period - now))
        return False

    def count(self, key: str, period: int) -> int:
        """This request counted in the window's key; the count so far."""
        # add() is a no-op when the key exists, so concurrent first requests all count.
        self.cache.add(key, 0, timeout=period + 1)
        try:
            return self.cache.incr(key)
        except ValueError:  # the window expired between add() and incr()
            self.cache.set(key, 1, timeout=period + 1)
            return 1

    def wait(self) -> float | None:
        return getattr(self, "retry_after", None)


class UserRateThrottle(EnvironmentRateThrottle):
    """Each signed-in user (by token or session) shares one budget across all clients."""

    scope = "user"
    env_name = "COHORT_API_THROTTLE_USER"
    default_rate = "3000/min"

    def get_client_key(self, request) -> str | None:
        if request.user and request.user.is_authenticated:
            return str(request.user.pk)
        return None


class AnonRateThrottle(EnvironmentRateThrottle):
    """Requests without credentials, counted per client address."""

    scope = "anon"
    env_name = "COHORT_API_THROTTLE_ANON"
    default_rate = "60/min"

    def get_client_key(self, request) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.get_ident(request)
