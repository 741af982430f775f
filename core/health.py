"""GET /healthz: can this web process serve? It checks the database and the Celery broker.

For load balancers, orchestrators and uptime monitors: 200 when every check passes,
503 otherwise, with each check's status and latency in a JSON body:

    {"status": "ok", "checks": {"database": {"status": "ok", "latency_ms": 0.4},
                                "broker": {"status": "ok", "latency_ms": 0.3}}}

A failed check says only the error's type (the body is public); the log has the rest.
The broker's status is "inline" when none is configured: jobs then run in the web
process, and that is healthy. A plain Django view, not a DRF one, so no authentication,
throttling or session is involved (it costs one `SELECT 1` and one Redis PING), and it
is not in the API schema; it is never cached and is exempt from the HTTPS redirect
(settings), since probes often speak plain HTTP to the process.
"""

import logging
import time
from urllib.parse import urlsplit

import redis
from kombu import Connection
from redis.backoff import NoBackoff
from redis.retry import Retry

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

# A probe waits a few seconds at most; a broker slower than this is as good as down.
BROKER_TIMEOUT_S = 1.0
HEALTHY = {"ok", "inline"}
REDIS_SCHEMES = {"redis", "rediss"}

logger = logging.getLogger(__name__)


@never_cache
@require_safe
def healthz(request):
    checks = {
        "database": _timed("database", check_database),
        "broker": _timed("broker", check_broker),
    }
    healthy = all(check["status"] in HEALTHY for check in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def check_broker() -> str:
    """PING the broker Celery uses (settings.CELERY_BROKER_URL, from REDIS_URL), once."""
    url = settings.CELERY_BROKER_URL
    if not url:
        return "inline"
    if urlsplit(url).scheme in REDIS_SCHEMES:
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=BROKER_TIMEOUT_S,
            socket_timeout=BROKER_TIMEOUT_S,
            retry=Retry(NoBackoff(), retries=0),  # redis-py retries 3 times by default
        )
        try:
            client.ping()
        finally:
            client.close()
    else:  # another broker Celery supports (RabbitMQ …): open and close a connection to it
        with Connection(url, connect_timeout=BROKER_TIMEOUT_S) as broker:
            broker.ensure_connection(max_retries=0, timeout=BROKER_TIMEOUT_S)
    return "ok"


def _timed(name: str, check) -> dict:
    started = time.perf_counter()
    try:
        result = {"status": check()}
    except Exception as error:  # any failure is an unhealthy answer, not a 500
        # No traceback: a probe repeats every few seconds while something is down.
        logger.warning("Health check %s failed: %s: %s", name, type(error).__name__, error)
        result = {"status": "error", "error": type(error).__name__}
    return result | {"latency_ms": round((time.perf_counter() - started) * 1000, 2)}
