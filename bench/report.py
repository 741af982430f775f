"""Timing helpers, one result row per operation, and the printed and JSON reports."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.database import BENCH_DIR

RESULTS_DIR = BENCH_DIR / "results"


def median_seconds(
    run: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None
):
    """Median wall time of `run` over `repeat` runs; `setup` (untimed) runs before each."""
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass
class Operation:
    name: str
    cohort_s: float
    raw_sql_s: float | None
    target: str = ""
    met: bool | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if not self.raw_sql_s:
            return None
        return self.cohort_s / self.raw_sql_s

    def as_json(self) -> dict:
        data = asdict(self)
        data["ratio"] = None if self.ratio is None else round(self.ratio, 4)
        return data


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


def table(operations: list[Operation]) -> str:
    """The operations as a Markdown table (printed, and pasted into the README)."""
    lines = [
        "| Operation | Cohort (median) | Raw SQL (median) | Ratio | Target | Met |",
        "|---|---:|---:|---:|---|:-:|",
    ]
    for op in operations:
        ratio = "—" if op.ratio is None else f"{op.ratio:.2f}×"
        met = {True: "yes", False: "**no**", None: ""}[op.met]
        name = op.name
        if op.extra.get("note"):
            name = f"{name} ({op.extra['note']})"
        lines.append(
            f"| {name} | {_seconds(op.cohort_s)} | {_seconds(op.raw_sql_s)} | {ratio} "
            f"| {op.target} | {met} |"
        )
    return "\n".join(lines)


def write_results(
    vendor: str,
    database_label: str,
    contacts: int,
    operations: list[Operation],
    started_at: str,
    directory: Path = RESULTS_DIR,
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"latest-{vendor}.json"
    data = {
        "machine": machine(),
        "database": database_label,
        "contacts": contacts,
        "started_at": started_at,
        "operations": [op.as_json() for op in operations],
    }
    path.write_text(json.dumps(data, indent=2) + "\n")
    (directory / f"latest-{vendor}.md").write_text(table(operations) + "\n")
    return path
