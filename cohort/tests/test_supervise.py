"""L6: in `make serve-prod` a worker that dies no longer stops the web process. honcho
stops everything when one process exits, so the Procfile runs worker and beat under
scripts/supervise.py, which starts them again; these tests kill the supervised process."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPERVISE = ROOT / "scripts" / "supervise.py"
HONCHO = Path(sys.executable).parent / "honcho"
SLEEPER = f'{sys.executable} -c "import time; time.sleep(120)"'
STARTED = re.compile(r"supervise: started \S+ \(pid (\d+)\)")


def wait_for(condition, what: str, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answer := condition():
            return answer
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def children(log: Path) -> list[int]:
    return [int(pid) for pid in STARTED.findall(log.read_text(errors="replace"))]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_procfile_supervises_worker_and_beat():
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )

    for name in ("worker", "beat"):
        assert lines[name].split()[:2] == ["python", "scripts/supervise.py"], lines[name]
        assert "celery --app cohort" in lines[name]
    assert "supervise" not in lines["web"]


def test_a_killed_process_is_started_again_and_a_stop_stops_both(tmp_path):
    log = tmp_path / "supervise.log"
    with log.open("w") as out:
        supervisor = subprocess.Popen(
            [sys.executable, str(SUPERVISE), sys.executable, "-c", "import time; time.sleep(120)"],
            stderr=out,
        )
    try:
        first = wait_for(lambda: children(log), "the first start")[0]
        subprocess.run(["kill", "-KILL", str(first)], check=True)

        second = wait_for(lambda: children(log)[1:], "a restart")[0]
        assert second != first and alive(second)
        assert supervisor.poll() is None
        assert "exited with -9; restarting in 1 s" in log.read_text()

        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=10) == 0
        wait_for(lambda: not alive(second), "the supervised process to stop")
    finally:
        supervisor.kill()
        supervisor.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_under_honcho_a_worker_crash_leaves_the_web_process_serving(tmp_path):
    port = free_port()
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        f"web: {sys.executable} -m http.server {port} --bind 127.0.0.1\n"
        f"worker: {sys.executable} {SUPERVISE} {SLEEPER}\n"
    )
    (tmp_path / ".env").touch()
    log = tmp_path / "honcho.log"
    with log.open("w") as out:
        honcho = subprocess.Popen(
            [
                str(HONCHO),
                "start",
                "--no-colour",
                "-f",
                str(procfile),
                "-e",
                str(tmp_path / ".env"),
            ],
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def web_answers() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(web_answers, "the web process")
        worker = wait_for(lambda: children(log), "the worker")[0]

        subprocess.run(["kill", "-KILL", str(worker)], check=True)  # as the OOM killer would

        restarted = wait_for(lambda: children(log)[1:], "the worker's restart")[0]
        assert restarted != worker
        assert honcho.poll() is None, log.read_text()
        assert web_answers()
    finally:
        honcho.send_signal(signal.SIGTERM)
        try:
            honcho.wait(timeout=15)
        except subprocess.TimeoutExpired:
            subprocess.run(["kill", "-KILL", f"-{honcho.pid}"])
            honcho.wait()
