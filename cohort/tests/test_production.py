"""Production: settings from the environment, a clean deploy check, JSON logs, and the
Procfile's processes (gunicorn, a Celery worker, Celery beat) started together."""

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg import sql

from django.db import connection

from testing.services import postgres_url, reachable_redis

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KEY = secrets.token_urlsafe(50)
# Everything the settings read, so that each case starts from nothing but what it sets.
SETTINGS_VARIABLES = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
)
SHOW_SETTINGS = (
    "import json\n"
    "from cohort import settings as s\n"
    "print(json.dumps({'DEBUG': s.DEBUG, 'SECRET_KEY': s.SECRET_KEY,"
    " 'ALLOWED_HOSTS': s.ALLOWED_HOSTS, 'LOG_FORMAT': s.LOG_FORMAT,"
    " 'LOG_LEVEL': s.LOGGING['root']['level'], 'BROKER': s.CELERY_BROKER_URL}))\n"
)


def environment(tmp_path: Path, **variables: str) -> dict:
    """This process's environment without any Cohort setting, plus `variables`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("COHORT_") and key not in SETTINGS_VARIABLES
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env | {"COHORT_VAR_DIR": str(tmp_path), "PATH": f"{BIN}:{env['PATH']}"} | variables


def run(tmp_path: Path, *command: str, **variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        cwd=ROOT,
        env=environment(tmp_path, **variables),
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_with(tmp_path: Path, **variables: str) -> dict:
    result = run(tmp_path, sys.executable, "-c", SHOW_SETTINGS, **variables)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


# --- settings ---------------------------------------------------------------------------------


def test_development_by_default(tmp_path):
    shown = settings_with(tmp_path)

    assert shown["DEBUG"] is True
    assert shown["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()
    assert shown["ALLOWED_HOSTS"] == ["127.0.0.1", "localhost", "testserver"]
    assert (shown["LOG_FORMAT"], shown["LOG_LEVEL"]) == ("text", "WARNING")
    assert shown["BROKER"] == ""  # jobs run inline


@pytest.mark.parametrize("name", ["SECRET_KEY", "COHORT_SECRET_KEY"])
def test_a_secret_key_from_the_environment_means_production(tmp_path, name):
    shown = settings_with(tmp_path, **{name: KEY})

    assert shown["DEBUG"] is False
    assert shown["SECRET_KEY"] == KEY
    assert (shown["LOG_FORMAT"], shown["LOG_LEVEL"]) == ("json", "INFO")
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"COHORT_DEBUG": "true"}, {"DEBUG": True, "LOG_FORMAT": "text"}),  # asked for
        ({"COHORT_LOG_FORMAT": "text"}, {"DEBUG": False, "LOG_FORMAT": "text"}),
        ({"COHORT_LOG_LEVEL": "warning"}, {"DEBUG": False, "LOG_LEVEL": "WARNING"}),
        ({"COHORT_SECRET_KEY": "older-" + KEY}, {"SECRET_KEY": KEY}),  # the plain name wins
        ({"ALLOWED_HOSTS": "crm.example.com, api.example.com"}, {"ALLOWED_HOSTS": [
            "crm.example.com", "api.example.com"]}),
        ({"COHORT_ALLOWED_HOSTS": "crm.example.com"}, {"ALLOWED_HOSTS": ["crm.example.com"]}),
        ({"REDIS_URL": "redis://cache.internal:6379/2"}, {"BROKER": "redis://cache.internal:6379/2"}),
    ],
)  # fmt: skip
def test_production_settings_follow_the_environment(tmp_path, variables, expected):
    shown = settings_with(tmp_path, SECRET_KEY=KEY, **variables)

    assert {name: shown[name] for name in expected} == expected


@pytest.mark.parametrize(
    "command",
    [
        ["python", "manage.py", "check"],
        ["gunicorn", "--config", "cohort/gunicorn.conf.py", "--check-config"],
        ["celery", "--app", "cohort", "worker", "--concurrency", "1"],
        ["celery", "--app", "cohort", "beat"],
    ],
    ids=["manage.py", "gunicorn", "celery worker", "celery beat"],
)
def test_production_refuses_to_start_without_a_secret_key(tmp_path, command):
    # given debug off (production) and no key; a worker or beat that did start would keep
    # retrying this unreachable broker instead of exiting (and the timeout would say so)
    result = run(tmp_path, *command, COHORT_DEBUG="false", REDIS_URL="redis://127.0.0.1:1/0")

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr + result.stdout
    assert not (tmp_path / "secret_key").exists()  # none was invented


def test_the_deploy_check_is_clean_with_the_production_environment(tmp_path):
    result = run(
        tmp_path,
        sys.executable,
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=KEY,
        ALLOWED_HOSTS="crm.example.com",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_a_production_process_logs_one_json_object_per_line(tmp_path):
    script = (
        "import django, logging; django.setup()\n"
        "log = logging.getLogger('cohort.example')\n"
        "log.info('Segment %s synced', 'Hot leads', extra={'members': 120})\n"
        "try:\n    1 / 0\nexcept ZeroDivisionError:\n    log.exception('Sync failed')\n"
    )

    result = run(
        tmp_path,
        sys.executable,
        "-c",
        script,
        SECRET_KEY=KEY,
        DJANGO_SETTINGS_MODULE="cohort.settings",
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    synced, failed = (line for line in lines if line["logger"] == "cohort.example")
    assert synced["message"] == "Segment Hot leads synced" and synced["members"] == 120
    assert synced["level"] == "INFO" and synced["timestamp"].endswith("Z")
    assert failed["level"] == "ERROR" and "ZeroDivisionError" in failed["exception"]


# --- the Procfile's processes, end to end -----------------------------------------------------

START_TIMEOUT = 30  # seconds until /healthz answers 200 and the worker and beat are up
STOP_TIMEOUT = 20  # honcho gives its processes 5 s after SIGTERM, then kills them
PREFIX = re.compile(r"^\d\d:\d\d:\d\d (\S+)\s*\| (.*)$")  # honcho's "12:00:00 web.1 | …"


@pytest.fixture
def e2e_database(django_db_setup):
    """A new, empty database beside the test run's, dropped afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("the production set runs on PostgreSQL: the PostgreSQL pass starts it")
    name = f"{connection.settings_dict['NAME']}_e2e"
    admin_url = postgres_url("postgres")
    drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(drop)
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield postgres_url(name)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(drop)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lines_of(output: Path, process: str) -> list[str]:
    """What one process (web.1, worker.1 …) wrote, without honcho's prefix."""
    found = (PREFIX.match(line) for line in output.read_text(errors="replace").splitlines())
    return [match[2] for match in found if match and match[1] == process]


def json_lines_of(output: Path, process: str) -> list[dict]:
    return [json.loads(line) for line in lines_of(output, process) if line.startswith("{")]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    """Status, headers and body, redirects not followed."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def wait_until(condition, what: str, honcho: subprocess.Popen, output: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if honcho.poll() is not None:
            raise AssertionError(f"honcho exited before {what}:\n{output.read_text()}")
        try:
            if condition():
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    raise AssertionError(
        f"Timed out after {START_TIMEOUT} s waiting for {what}:\n{output.read_text()}"
    )


def logged(output: Path, process: str, test):
    """A condition for wait_until: `process` wrote a JSON line that passes `test`."""
    return lambda: any(test(line) for line in json_lines_of(output, process))


def stop(honcho: subprocess.Popen, output: Path) -> None:
    """SIGTERM to honcho, which stops its processes; if it hangs, kill every process group
    (honcho starts each process in a session of its own)."""
    if honcho.poll() is None:
        honcho.send_signal(signal.SIGTERM)
        try:
            honcho.wait(timeout=STOP_TIMEOUT)
            return
        except subprocess.TimeoutExpired:
            pass
    children = re.findall(r"started \(pid=(\d+)\)", output.read_text(errors="replace"))
    for pid in [honcho.pid, *map(int, children)]:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    honcho.wait(timeout=STOP_TIMEOUT)


def test_the_procfile_starts_web_worker_and_beat_on_postgresql_and_redis(tmp_path, e2e_database):
    # given the production environment an operator gives (debug off, HTTPS redirect on)
    env = environment(
        tmp_path / "var",
        DATABASE_URL=e2e_database,
        REDIS_URL=reachable_redis(),
        SECRET_KEY=KEY,
        ALLOWED_HOSTS="127.0.0.1",
        WORKER_CONCURRENCY="1",
        # A queue of its own on the shared Redis, so no other run's worker takes its tasks.
        COHORT_CELERY_QUEUE=f"cohort-e2e-{uuid.uuid4().hex[:12]}",
    )
    no_dotenv = tmp_path / "empty.env"  # honcho would read a developer's .env otherwise
    no_dotenv.touch()
    honcho = [str(BIN / "honcho"), "start", "--no-colour", "--env", str(no_dotenv)]

    # when the release step runs, then web, worker and beat start
    release = subprocess.run(
        [*honcho, "release"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert release.returncode == 0, release.stdout + release.stderr
    assert "static files copied" in release.stdout
    assert (tmp_path / "var" / "static" / "staticfiles.json").exists()  # WhiteNoise's manifest

    port = free_port()
    output = tmp_path / "honcho.log"
    with output.open("wb") as out:
        process = subprocess.Popen(
            [*honcho, "--port", str(port), "web", "worker", "beat"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get(f"{base}/healthz")[0] == 200, "/healthz", process, output)
        ready = logged(output, "worker.1", lambda line: line["message"].endswith(" ready."))
        wait_until(ready, "the Celery worker to be ready", process, output)
        started = logged(output, "beat.1", lambda line: line["message"] == "beat: Starting...")
        wait_until(started, "Celery beat to start", process, output)

        # then the health check passed on both services, over plain HTTP
        status, _headers, body = get(f"{base}/healthz")
        checks = json.loads(body)["checks"]
        assert status == 200
        assert (checks["database"]["status"], checks["broker"]["status"]) == ("ok", "ok")
        # and the rest is production: HTTPS only, ...
        status, headers, _body = get(f"{base}/admin/login")
        assert status == 301
        assert headers["Location"] == f"https://127.0.0.1:{port}/admin/login"
        request_id = headers["X-Request-ID"]
        # ... static files served by WhiteNoise from the release step's collectstatic (over
        # HTTPS, as a TLS proxy on this machine says: gunicorn trusts it from 127.0.0.1)
        manifest = json.loads((tmp_path / "var" / "static" / "staticfiles.json").read_text())
        stylesheet = manifest["paths"]["cohort/cohort.css"]
        status, headers, body = get(
            f"{base}/static/{stylesheet}", headers={"X-Forwarded-Proto": "https"}
        )
        assert status == 200
        assert body == (ROOT / "cohort" / "static" / "cohort" / "cohort.css").read_bytes()
        assert "immutable" in headers["Cache-Control"]  # hashed names are cached for good
        request_logged = logged(output, "web.1", lambda line: line.get("request_id") == request_id)
        wait_until(request_logged, "the request's log line", process, output)
    finally:
        stop(process, output)
        # The run's own queue goes with it: its binding and what beat sent it meanwhile.
        queue = env["COHORT_CELERY_QUEUE"]
        redis.Redis.from_url(env["REDIS_URL"]).delete(f"_kombu.binding.{queue}", queue)

    assert process.returncode == 143, output.read_text()  # honcho's exit after a SIGTERM
    for name in ("web.1", "worker.1", "beat.1"):
        assert f"{name} stopped" in output.read_text(), f"{name} was not stopped"
    web = lines_of(output, "web.1")
    assert all(line.startswith("{") for line in web), web  # gunicorn's own lines too
    web = [json.loads(line) for line in web]
    [request] = [line for line in web if line.get("request_id") == request_id]
    assert [request["method"], request["path"], request["status"]] == ["GET", "/admin/login", 301]
    assert any(line["logger"] == "gunicorn.error" for line in web)
