"""Cohort's logs: one JSON object per line in production, plain text in development.

`logging_config()` builds the LOGGING dictionary that settings, gunicorn
(cohort/gunicorn.conf.py) and Celery (cohort.celery) all apply, so every process
of a deployment writes the same format. `JsonFormatter` writes each record as one
line with timestamp, level, logger and message, plus the request's id, method and
path while a request is answered, the task's id and name inside a Celery task, and
the exception's traceback. `RequestLogMiddleware` gives each request its id and
writes one line per request (logger `cohort.request`) with its status and duration.
"""

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from celery._state import get_current_task  # as Celery's own TaskFormatter does

LOG_FORMATS = ("json", "text")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REQUEST_ID_HEADER = "X-Request-ID"
# A request id a proxy sent along is kept (so its logs and ours match) when it is plain.
_ACCEPTED_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# Polled every few seconds by load balancers: a healthy answer is logged at DEBUG only.
QUIET_PATHS = frozenset({"/healthz", "/healthz/"})

# The request being answered by this thread or task (request_id, method, path), if any.
_request: ContextVar[dict | None] = ContextVar("cohort_request", default=None)
# Everything a LogRecord carries by itself; any other attribute came from `extra=`.
_RECORD_ATTRIBUTES = frozenset(
    {*vars(logging.LogRecord("", 0, "", 0, "", (), None)), "message", "asctime", "taskName"}
)

request_logger = logging.getLogger("cohort.request")


def logging_config(log_format: str, level: str) -> dict:
    """The dictConfig for every Cohort process: one handler on the root logger, to stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "core.structured_logging.JsonFormatter"},
            "text": {"format": TEXT_FORMAT},
        },
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": log_format}},
        "root": {"handlers": ["console"], "level": level.upper()},
    }


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON (newlines in messages and tracebacks are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= _request.get() or {}
        task = get_current_task()
        if task is not None and task.request.id:
            entry |= {"task_id": task.request.id, "task_name": task.name}
        for key, value in vars(record).items():
            # Values passed with `extra=`; objects (Django's `request`) are left out.
            if key not in _RECORD_ATTRIBUTES and isinstance(value, str | int | float | bool):
                entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str)


class RequestLogMiddleware:
    """First in MIDDLEWARE: an id for each request, and one log line when it is answered.

    The id comes from the X-Request-ID header when a proxy set a plain one, else it is
    new; it is sent back in the same header and is on every line logged meanwhile (an
    error's traceback included), so one request's lines can be found together. The path
    is logged without its query string, which can carry searched names and emails.
    The duration is until the response is handed to the server (for a streamed export,
    until its first row).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _ACCEPTED_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = _request.set(
            {"request_id": request_id, "method": request.method, "path": request.path}
        )
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            response[REQUEST_ID_HEADER] = request_id
            quiet = request.path in QUIET_PATHS and response.status_code < 400
            request_logger.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %s %.1f ms",
                request.method,
                request.path,
                response.status_code,
                duration_ms,
                extra={"status": response.status_code, "duration_ms": duration_ms},
            )
            return response
        finally:
            _request.reset(token)


def use_cohort_logging(**_signal_kwargs) -> None:
    """Celery's setup_logging receiver: keep Django's LOGGING instead of Celery's own.

    Celery otherwise gives its task logger a handler and format of its own (plain text,
    not propagated). Connected in cohort.celery; the level is COHORT_LOG_LEVEL's, not
    the worker's --loglevel.
    """
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
