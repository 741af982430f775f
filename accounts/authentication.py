"""DRF authentication by `Authorization: Bearer <token>`; wrong tokens counted per address.

An address that sent COHORT_TOKEN_FAILURE_LIMIT wrong tokens within a lockout period
(COHORT_LOGIN_LOCKOUT_MINUTES) gets 429 with Retry-After until the period ends, before
any token is looked up (L2). The counts live in the cache; while it is down they fail
open (the API's throttle logs that outage).
"""

import math
import time

from axes.helpers import get_client_ip_address

from django.conf import settings
from django.core.cache import cache
from rest_framework import authentication, exceptions

from accounts.tokens import find_active_token


class TokenFailures:
    """Wrong tokens per client address, counted in fixed windows of the lockout's length."""

    def __init__(self, request) -> None:
        self.period = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds()))
        now = time.time()
        window = int(now // self.period)
        self.retry_after = max(1, math.ceil((window + 1) * self.period - now))
        address = get_client_ip_address(request._request)
        self.key = f"bearer-failures:{address}:{window}"

    def too_many(self) -> bool:
        try:
            return (cache.get(self.key) or 0) >= settings.COHORT_TOKEN_FAILURE_LIMIT
        except Exception:  # the cache is down: fail open
            return False

    def count_one(self) -> None:
        try:
            if not cache.add(self.key, 1, timeout=self.period + 1):
                cache.incr(self.key)
        except Exception:  # the cache is down (or the window just expired): fail open
            pass


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header: use 'Bearer <token>'."
            )
        try:
            plain = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The token has invalid characters.") from exc
        failures = TokenFailures(request)
        if failures.too_many():
            minutes = math.ceil(failures.retry_after / 60)
            raise exceptions.Throttled(
                wait=failures.retry_after,
                detail=f"Too many requests with a wrong API token from your address; "
                f"try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            )
        token = find_active_token(plain)
        if token is None:
            failures.count_one()
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return token.user, token

    def authenticate_header(self, request) -> str:
        return self.keyword


try:
    from drf_spectacular.extensions import OpenApiAuthenticationExtension

    class BearerTokenScheme(OpenApiAuthenticationExtension):
        target_class = "accounts.authentication.BearerTokenAuthentication"
        name = "bearerAuth"

        def get_security_definition(self, auto_schema):
            return {"type": "http", "scheme": "bearer"}

except ImportError:  # pragma: no cover - drf-spectacular is a locked dependency
    pass
