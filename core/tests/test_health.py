"""GET /healthz: 200 when the database and the broker answer, 503 when either does not."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.health import BROKER_TIMEOUT_S
from testing.services import reachable_redis

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


def assert_check(check: dict, status: str) -> None:
    assert check["status"] == status, check
    assert isinstance(check["latency_ms"], float) and check["latency_ms"] >= 0


def test_healthy_without_a_broker_jobs_running_inline(client, db, settings):
    settings.CELERY_BROKER_URL = ""

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker"}
    assert_check(body["checks"]["database"], "ok")
    assert_check(body["checks"]["broker"], "inline")


def test_healthy_with_the_real_redis_broker(client, db, settings):
    settings.CELERY_BROKER_URL = reachable_redis()

    response = client.get("/healthz/")  # with or without the slash, as every path

    assert response.status_code == 200, response.content
    assert_check(response.json()["checks"]["broker"], "ok")
    assert_check(response.json()["checks"]["database"], "ok")


def test_unavailable_when_the_broker_is_unreachable(client, db, settings, caplog):
    settings.CELERY_BROKER_URL = UNREACHABLE_REDIS

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert_check(body["checks"]["database"], "ok")
    assert_check(body["checks"]["broker"], "error")
    assert body["checks"]["broker"]["error"] == "ConnectionError"
    assert "127.0.0.1:1" not in response.content.decode()  # details go to the log only
    assert "Health check broker failed: ConnectionError" in caplog.text
    assert "127.0.0.1:1" in caplog.text


def test_a_broker_that_never_answers_is_given_up_on_quickly(client, db, settings):
    # given a server that accepts connections (the kernel does) but never replies
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"

        # when
        started = time.monotonic()
        response = client.get("/healthz")
        elapsed = time.monotonic() - started

    # then the probe gets its answer instead of hanging until its own timeout
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["error"] == "TimeoutError"
    assert BROKER_TIMEOUT_S <= elapsed < BROKER_TIMEOUT_S + 2


@pytest.mark.parametrize(
    ("broker_url", "status", "answer"),
    [("memory://", 200, "ok"), ("amqp://guest:guest@127.0.0.1:1//", 503, "error")],
)
def test_other_celery_brokers_are_checked_by_connecting(
    client, db, settings, broker_url, status, answer
):
    settings.CELERY_BROKER_URL = broker_url

    response = client.get("/healthz")

    assert response.status_code == status
    assert response.json()["checks"]["broker"]["status"] == answer


def test_unavailable_when_the_database_is_down(tmp_path):
    # A process of its own: the test run's database connection cannot be taken away.
    script = (
        "import json, django; django.setup()\n"
        "from django.test import Client\n"
        "response = Client().get('/healthz')\n"
        "print(json.dumps({'status': response.status_code, 'body': response.json()}))\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"CELERY_BROKER_URL", "REDIS_URL", "SECRET_KEY", "COHORT_SECRET_KEY"}
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "cohort.settings",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/cohort",  # nothing listens there
        "COHORT_DEBUG": "true",
        "COHORT_VAR_DIR": str(tmp_path),
    }

    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.splitlines()[-1])
    assert answer["status"] == 503
    assert answer["body"]["status"] == "unavailable"
    assert answer["body"]["checks"]["database"]["status"] == "error"
    assert answer["body"]["checks"]["database"]["error"] == "OperationalError"
    assert answer["body"]["checks"]["broker"]["status"] == "inline"


def test_it_is_cheap_one_query_and_no_session(client, admin_user, django_assert_num_queries):
    client.force_login(admin_user)  # a signed-in browser's cookie must not load the session

    with django_assert_num_queries(1):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert not response.cookies  # no session or CSRF cookie set
    assert "Cookie" not in response.get("Vary", "")


def test_it_is_never_cached(client, db):
    response = client.get("/healthz")

    cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
    assert {"no-cache", "no-store", "must-revalidate", "max-age=0"} <= cache_control


@pytest.mark.parametrize(("method", "status"), [("head", 200), ("post", 405), ("delete", 405)])
def test_it_answers_reads_only(client, db, method, status):
    assert getattr(client, method)("/healthz").status_code == status


def test_it_is_not_in_the_api_schema(browser_client):
    paths = browser_client.get("/api/schema/", {"format": "json"}).json()["paths"]

    assert paths  # the schema itself is there
    assert not [path for path in paths if "health" in path]
