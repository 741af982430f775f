"""Is the PostgreSQL server for the test run reachable?

Exit 0 when it is; 3 when it is not and the run may skip PostgreSQL (a laptop);
1 when it is not and CI=true, where skipping would hide failures.
"""

import os
import sys

import psycopg

url = os.environ.get("COHORT_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cohort")
# Connect to the maintenance database: the test database itself is created by pytest-django.
maintenance_url = url.rsplit("/", 1)[0] + "/postgres"
try:
    psycopg.connect(maintenance_url, connect_timeout=5).close()
except psycopg.Error as error:
    on_ci = os.environ.get("CI", "").lower() == "true"
    print(f"PostgreSQL at {url} is unreachable: {error}".strip(), file=sys.stderr)
    sys.exit(1 if on_ci else 3)
print(f"PostgreSQL at {url} is reachable.")
