"""Keep one process running: start it again whenever it exits, until told to stop.

    python scripts/supervise.py celery --app cohort worker ...

The Procfile runs the Celery worker and beat under it. honcho (`make serve-prod`) stops
every process as soon as one exits, so a worker killed by the OOM killer or a crash took
the web process down with it; under this loop the worker is restarted instead, after 1 s,
doubling up to 30 s while it keeps dying young (a broken configuration does not spin).
SIGTERM or SIGINT (honcho's stop, Ctrl-C) goes to the process, whose exit ends the loop.
Standard library only, so it starts in milliseconds and imports nothing of Cohort.
"""

import signal
import subprocess
import sys
import time

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 30.0
# A process that ran this long was healthy: the next restart waits FIRST_DELAY_S again.
HEALTHY_AFTER_S = 60.0


def log(message: str) -> None:
    print(f"supervise: {message}", file=sys.stderr, flush=True)


def main(command: list[str]) -> int:
    if not command:
        log("usage: supervise.py COMMAND [ARGS...]")
        return 2
    stopping = False
    child: subprocess.Popen | None = None

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    delay = FIRST_DELAY_S
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)
        log(f"started {command[0]} (pid {child.pid})")
        code = child.wait()
        if stopping:
            return 0 if code in (0, -signal.SIGTERM, -signal.SIGINT) else code
        if time.monotonic() - started >= HEALTHY_AFTER_S:
            delay = FIRST_DELAY_S
        log(f"{command[0]} (pid {child.pid}) exited with {code}; restarting in {delay:.0f} s")
        deadline = time.monotonic() + delay
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.1)
        if stopping:
            return 0
        delay = min(delay * 2, MAX_DELAY_S)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
