"""Structured logs: each record one JSON line; each request an id, carried by its lines."""

import io
import json
import logging

import pytest
from celery import shared_task

from django.test import Client
from django.urls import path

from core.structured_logging import JsonFormatter

# An error page for the test below (this module is its URLconf there).
urlpatterns = [path("explode", lambda request: 1 / 0)]


@pytest.fixture
def log_lines():
    """Everything logged at DEBUG and up while the test runs, as parsed JSON lines."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    saved_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    yield lines
    root.removeHandler(handler)
    root.setLevel(saved_level)


def test_a_record_is_one_line_of_json_with_the_expected_keys(log_lines):
    logger = logging.getLogger("cohort.tests.example")
    try:
        {}["missing"]
    except KeyError:
        logger.exception("Import of %s failed\non row %d", "leads.csv", 7, extra={"job": 12})

    [line] = log_lines()  # the newline in the message and the traceback are escaped
    assert line["level"] == "ERROR"
    assert line["logger"] == "cohort.tests.example"
    assert line["message"] == "Import of leads.csv failed\non row 7"
    assert line["job"] == 12
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]
    assert line["exception"].startswith("Traceback (most recent call last):")
    assert "KeyError: 'missing'" in line["exception"]


def test_objects_passed_as_extra_are_left_out(log_lines):
    logging.getLogger("django.request").warning("Not Found: /x", extra={"request": object()})

    [line] = log_lines()
    assert "request" not in line
    assert line["message"] == "Not Found: /x"


def test_each_request_is_logged_once_with_its_id_status_and_duration(client, db, log_lines):
    response = client.get("/admin/login", {"search": "ada@example.com"})

    [line] = [line for line in log_lines() if line["logger"] == "cohort.request"]
    assert line["level"] == "INFO"
    assert line["request_id"] == response["X-Request-ID"]
    assert len(line["request_id"]) == 32
    assert (line["method"], line["path"], line["status"]) == ("GET", "/admin/login", 200)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert "ada@example.com" not in json.dumps(line)  # no query strings in the log


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("lb-7f3a.91", True), ("bad id\nforged line", False), ("x" * 200, False)],
)
def test_a_plain_request_id_from_the_proxy_is_kept(client, db, log_lines, sent, kept):
    response = client.get("/admin/login", HTTP_X_REQUEST_ID=sent)

    assert (response["X-Request-ID"] == sent) is kept
    [line] = [line for line in log_lines() if line["logger"] == "cohort.request"]
    assert line["request_id"] == response["X-Request-ID"]


@pytest.mark.urls(__name__)
def test_an_error_is_logged_with_its_traceback_and_the_request_id(db, log_lines):
    response = Client(raise_request_exception=False).get("/explode")

    assert response.status_code == 500
    lines = log_lines()
    [error] = [line for line in lines if line["logger"] == "django.request"]
    [request] = [line for line in lines if line["logger"] == "cohort.request"]
    assert error["level"] == "ERROR"
    assert "ZeroDivisionError" in error["exception"]
    assert error["request_id"] == request["request_id"] == response["X-Request-ID"]
    assert (error["method"], error["path"], error["status_code"]) == ("GET", "/explode", 500)
    assert request["status"] == 500


@pytest.mark.parametrize(("broker", "level"), [("", "DEBUG"), ("redis://127.0.0.1:1/0", "INFO")])
def test_health_probes_are_logged_at_debug_while_healthy(
    client, db, settings, log_lines, broker, level
):
    settings.CELERY_BROKER_URL = broker

    client.get("/healthz")

    [line] = [line for line in log_lines() if line["logger"] == "cohort.request"]
    assert line["level"] == level


@shared_task(name="cohort.tests.log_from_a_task")
def log_from_a_task() -> None:
    logging.getLogger("cohort.tests.task").info("inside the task")


def test_lines_logged_inside_a_celery_task_name_it(log_lines):
    result = log_from_a_task.apply()  # run here, as a worker would

    [line] = [line for line in log_lines() if line["logger"] == "cohort.tests.task"]
    assert line["task_name"] == "cohort.tests.log_from_a_task"
    assert line["task_id"] == result.id
