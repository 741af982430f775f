"""gunicorn's configuration for Cohort's web process: `gunicorn -c cohort/gunicorn.conf.py`.

The Procfile's `web` uses it. Environment:
  PORT               port to listen on (honcho and most platforms set it), default 8000
  COHORT_HOST        address to listen on, default 127.0.0.1 (0.0.0.0 in a container)
  WEB_CONCURRENCY    worker processes, default 2 (about one per core)
  GUNICORN_CMD_ARGS  any other gunicorn option, e.g. "--timeout 120"
gunicorn's lines use Cohort's log format (JSON in production). Its own access log stays
off: Cohort logs each request itself (logger cohort.request, with the request id that
the request's other lines carry), so a request is not logged twice.
"""

import os

from cohort.settings import LOGGING

wsgi_app = "cohort.wsgi:application"
bind = [f"{os.environ.get('COHORT_HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# A request still running after a minute is cut off and its worker restarted: inline
# exports stop at 100,000 rows, and longer work runs as a Celery job.
timeout = 60
# gunicorn's control socket has one default path per user, which every gunicorn on the
# machine would share; Cohort does not use it (restart or scale through the supervisor).
control_socket_disable = True

logconfig_dict = LOGGING | {
    "loggers": {
        "gunicorn.error": {"level": LOGGING["root"]["level"], "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": True},
    }
}
