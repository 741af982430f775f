"""Measuring (wall time, CPU of this process and of its database backend, WAL), one result
row per operation, and the printed and JSON reports.

Wall time on a shared machine varies up to 2× between identical runs (the 2026-12
performance review), so each figure is the median of several runs and comes with
the CPU it cost on both sides and the WAL it wrote, which vary far less. CPU is read
in nanoseconds from /proc/<pid>/schedstat (utime + stime in clock ticks, from
/proc/<pid>/stat, where that is missing); the backend's pid comes from
`SELECT pg_backend_pid()`. SQLite runs inside this process: its CPU is the client's.
WAL is `pg_current_wal_lsn()` before and after, so it is server-wide: another
database's writes at the same moment count too.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.database import BENCH_DIR

RESULTS_DIR = BENCH_DIR / "results"
CLOCK_TICK_S = 1 / os.sysconf("SC_CLK_TCK")


def process_cpu_s(pid: int) -> float | None:
    """CPU time (user + system) a process has used so far, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/schedstat") as schedstat:
            return int(schedstat.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * CLOCK_TICK_S
    except (OSError, ValueError, IndexError):
        return None


def backend_pid() -> int | None:
    """The pid of this connection's PostgreSQL backend; None on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def wal_lsn() -> int | None:
    """The server's current WAL position in bytes; None on SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


@dataclass
class Sample:
    """One run: wall seconds, CPU seconds of this process and of the backend, WAL bytes."""

    wall_s: float
    client_cpu_s: float
    db_cpu_s: float | None = None
    wal_bytes: int | None = None


class Meter:
    """Counters read around a run. The backend pid is looked up at each start, since
    the connection can be re-opened between runs; reading them costs no timed time."""

    def start(self) -> None:
        self._pid = backend_pid()
        self._db = process_cpu_s(self._pid) if self._pid else None
        self._wal = wal_lsn()
        self._cpu = time.process_time()
        self._wall = time.perf_counter()

    def stop(self) -> Sample:
        wall = time.perf_counter() - self._wall
        cpu = time.process_time() - self._cpu
        db = wal = None
        if self._pid:
            after = process_cpu_s(self._pid)
            db = None if after is None or self._db is None else after - self._db
            wal = wal_lsn() - self._wal
        return Sample(wall, cpu, db, wal)


def _median(values: list) -> float | None:
    present = [value for value in values if value is not None]
    return statistics.median(present) if present else None


@dataclass
class Measured:
    """Medians over runs, and every run's wall time."""

    wall_s: float
    client_cpu_s: float | None = None
    db_cpu_s: float | None = None
    wal_bytes: float | None = None
    runs_s: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, samples: list[Sample]) -> Measured:
        return cls(
            wall_s=statistics.median(sample.wall_s for sample in samples),
            client_cpu_s=_median([sample.client_cpu_s for sample in samples]),
            db_cpu_s=_median([sample.db_cpu_s for sample in samples]),
            wal_bytes=_median([sample.wal_bytes for sample in samples]),
            runs_s=[round(sample.wall_s, 6) for sample in samples],
        )

    @property
    def cpu_s(self) -> float | None:
        """Client and database CPU together."""
        if self.client_cpu_s is None:
            return None
        return self.client_cpu_s + (self.db_cpu_s or 0)

    def as_json(self) -> dict:
        return {
            "wall_s": self.wall_s,
            "client_cpu_s": self.client_cpu_s,
            "db_cpu_s": self.db_cpu_s,
            "wal_bytes": None if self.wal_bytes is None else round(self.wal_bytes),
            "runs_s": self.runs_s,
        }


def measure(
    run: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None
) -> Measured:
    """Medians of `run` over `repeat` runs; `setup` (not measured) runs before each."""
    meter = Meter()
    samples = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        meter.start()
        run()
        samples.append(meter.stop())
    return Measured.of(samples)


def median_seconds(
    run: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None
) -> float:
    """Median wall time of `run` over `repeat` runs (bench.live_update's measure)."""
    return measure(run, repeat, setup).wall_s


@dataclass
class Operation:
    """One row: Cohort's figure beside the physical limit.

    The physical limit is the shortest statement producing the same rows into a plain
    table with only the key it needs (no foreign keys, no other index), on the same
    data in the same run. `raw` is the older hand-written SQL on Cohort's own tables,
    kept where it says something the limit does not.
    """

    name: str
    cohort: Measured
    physical: Measured | None
    target: str = ""
    met: bool | None = None
    extra: dict = field(default_factory=dict)
    raw: Measured | None = None
    load_average: list[float] = field(
        default_factory=lambda: [round(x, 2) for x in os.getloadavg()]
    )

    @property
    def cohort_s(self) -> float:
        return self.cohort.wall_s

    @property
    def physical_s(self) -> float | None:
        return None if self.physical is None else self.physical.wall_s

    @property
    def ratio(self) -> float | None:
        if not self.physical_s:
            return None
        return self.cohort_s / self.physical_s

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "cohort_s": self.cohort_s,
            "physical_s": self.physical_s,
            "ratio": None if self.ratio is None else round(self.ratio, 4),
            "target": self.target,
            "met": self.met,
            "cohort": self.cohort.as_json(),
            "physical": None if self.physical is None else self.physical.as_json(),
            "raw_on_cohort_tables": None if self.raw is None else self.raw.as_json(),
            "load_average": self.load_average,
            "extra": self.extra,
        }


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": memory_gib,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _seconds(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"


def _cpu(measured: Measured | None) -> str:
    if measured is None or measured.client_cpu_s is None:
        return "—"
    text = _seconds(measured.client_cpu_s)
    return text if measured.db_cpu_s is None else f"{text} + {_seconds(measured.db_cpu_s)}"


def _wal(measured: Measured | None) -> str:
    if measured is None or measured.wal_bytes is None:
        return "—"
    size = measured.wal_bytes
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return "—"


def table(operations: list[Operation]) -> str:
    """The operations as a Markdown table (printed, and pasted into the README)."""
    lines = [
        "| Operation | Cohort (median) | Physical limit | Ratio | CPU client + db (Cohort) "
        "| WAL (Cohort / physical) | Raw SQL on Cohort's tables | Target | Met |",
        "|---|---:|---:|---:|---:|---:|---:|---|:-:|",
    ]
    for op in operations:
        ratio = "—" if op.ratio is None else f"{op.ratio:.2f}×"
        met = {True: "yes", False: "**no**", None: ""}[op.met]
        name = op.name
        if op.extra.get("note"):
            name = f"{name} ({op.extra['note']})"
        wal = f"{_wal(op.cohort)} / {_wal(op.physical)}"
        raw = "—" if op.raw is None else _seconds(op.raw.wall_s)
        lines.append(
            f"| {name} | {_seconds(op.cohort_s)} | {_seconds(op.physical_s)} | {ratio} "
            f"| {_cpu(op.cohort)} | {wal} | {raw} | {op.target} | {met} |"
        )
    return "\n".join(lines)


def write_results(
    vendor: str,
    database_label: str,
    contacts: int,
    operations: list[Operation],
    started_at: str,
    directory: Path = RESULTS_DIR,
    settings: dict | None = None,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"latest-{vendor}.json"
    data = {
        "machine": {
            **machine(),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        },
        "database": database_label,
        "contacts": contacts,
        "started_at": started_at,
        "settings": settings or {},
        "operations": [op.as_json() for op in operations],
    }
    data["machine"]["load_average_at_start"] = (settings or {}).get(
        "load_average_at_start", data["machine"]["load_average_at_start"]
    )
    path.write_text(json.dumps(data, indent=2) + "\n")
    (directory / f"latest-{vendor}.md").write_text(table(operations) + "\n")
    return path
