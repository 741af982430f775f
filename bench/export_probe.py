"""Operation 6, run in a process of its own so its peak memory is the export's alone.

    python -m bench.export_probe cohort|physical SEGMENT_ID USERNAME

prints one JSON line: {"seconds", "rows", "bytes", "peak_rss_mib", "peak_anon_mib",
"cpu_s", "db_cpu_s", "wal_bytes"} (CPU of this process and of its database backend
during the export, and WAL written meanwhile; the last two null on SQLite).
peak_rss_mib counts file pages SQLite reads through mmap (the OS page cache, shared
and reclaimable); peak_anon_mib, sampled every 20 ms, is the memory the process
itself allocates, which is what grows if an export holds rows. `cohort` downloads
the segment page's Export CSV through Django's test client (view, streaming response
and CSV writer included); `physical` is the lower bound: one statement, the tags of
the members aggregated in one pass and joined by hash — PostgreSQL's own
`COPY (SELECT …) TO STDOUT WITH CSV`, or on SQLite one SELECT written by Python's
csv module.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import sys
import threading
import time

CLIENT = None


def _sign_in(username: str) -> None:
    """A signed-in client that has served one request (middleware set up, not timed)."""
    global CLIENT
    from django.test import Client

    from accounts.models import User

    CLIENT = Client()
    CLIENT.force_login(User.objects.get(username=username))
    CLIENT.get("/admin/login", secure=True)


def _cohort(segment_id: int) -> tuple[int, int]:
    response = CLIENT.get(f"/admin/crm-segments/{segment_id}/export.csv", secure=True)
    if response.status_code != 200:
        raise SystemExit(f"Export answered {response.status_code}")
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    return lines - 1, size


PHYSICAL_SELECT = """
WITH members AS (
    SELECT contact_id, added_how, added_at FROM segments_segmentmember
    WHERE segment_id = {segment_id}
), names AS (
    SELECT l.record_id, {tag_list} AS tags
    FROM tags_contacttag l JOIN tags_tag t ON t.id = l.tag_id
    WHERE l.record_id IN (SELECT contact_id FROM members)
    GROUP BY l.record_id
)
SELECT c.id, c.first_name, c.last_name, c.email, c.phone, c.company, c.country, u.username,
       n.tags, m.added_how, m.added_at
FROM members m
JOIN contacts_contact c ON c.id = m.contact_id
LEFT JOIN accounts_user u ON u.id = c.owner_id
LEFT JOIN names n ON n.record_id = c.id
ORDER BY m.added_at DESC, m.contact_id DESC
"""


def _physical(segment_id: int) -> tuple[int, int]:
    from django.db import connection

    if connection.vendor == "postgresql":
        query = PHYSICAL_SELECT.format(
            tag_list="string_agg(t.name, '; ' ORDER BY lower(t.name))", segment_id=int(segment_id)
        )
        size = 0
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH CSV HEADER") as copy:
                for block in copy:
                    size += len(block)
            rows = cursor.cursor.rowcount
        return rows, size
    query = PHYSICAL_SELECT.format(
        tag_list="group_concat(t.name, '; ')", segment_id=int(segment_id)
    )
    out = io.StringIO()
    writer = csv.writer(out)
    rows = size = 0
    with connection.cursor() as cursor:
        cursor.execute(query)
        while batch := cursor.fetchmany(2000):
            writer.writerows(batch)
            rows += len(batch)
            size += len(out.getvalue())
            out.seek(0)
            out.truncate()
    return rows, size


def _anonymous_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return 0.0


class _PeakSampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = _anonymous_mib()
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, _anonymous_mib())
            time.sleep(0.02)


def main() -> None:
    mode, segment_id, username = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cohort.settings")
    import django

    django.setup()
    from bench.report import Meter

    if mode == "cohort":
        _sign_in(username)
    elif mode != "physical":
        raise SystemExit(f"Unknown mode {mode!r}: cohort or physical")
    meter = Meter()
    sampler = _PeakSampler()
    sampler.start()
    meter.start()
    rows, size = _cohort(segment_id) if mode == "cohort" else _physical(segment_id)
    sample = meter.stop()
    sampler.running = False
    sampler.join()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": sample.wall_s,
                "rows": rows,
                "cpu_s": sample.client_cpu_s,
                "db_cpu_s": sample.db_cpu_s,
                "wal_bytes": sample.wal_bytes,
                "bytes": size,
                "peak_rss_mib": round(peak_kib / 1024, 1),
                "peak_anon_mib": round(max(sampler.peak, _anonymous_mib()), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
