"""Operation 6, run in a process of its own so its peak memory is the export's alone.

    python -m bench.export_probe cohort|raw SEGMENT_ID USERNAME

prints one JSON line: {"seconds", "rows", "bytes", "peak_rss_mib", "peak_anon_mib"}.
peak_rss_mib counts file pages SQLite reads through mmap (the OS page cache, shared
and reclaimable); peak_anon_mib, sampled every 20 ms, is the memory the process
itself allocates, which is what grows if an export holds rows. `cohort` downloads
the segment page's Export CSV through Django's test client (view, streaming response
and CSV writer included); `raw` is the hand-written lower bound: PostgreSQL's own
`COPY (SELECT …) TO STDOUT WITH CSV`, or on SQLite one SELECT (tags grouped in SQL)
written by Python's csv module.
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


RAW_SELECT = """
SELECT c.id, c.first_name, c.last_name, c.email, c.phone, c.company, c.country, u.username,
       (SELECT {tag_list} FROM tags_contacttag l JOIN tags_tag t ON t.id = l.tag_id
        WHERE l.record_id = c.id),
       m.added_how, m.added_at
FROM segments_segmentmember m
JOIN contacts_contact c ON c.id = m.contact_id
LEFT JOIN accounts_user u ON u.id = c.owner_id
WHERE m.segment_id = {segment_id}
ORDER BY m.added_at DESC, m.contact_id DESC
"""


def _raw(segment_id: int) -> tuple[int, int]:
    from django.db import connection

    if connection.vendor == "postgresql":
        query = RAW_SELECT.format(tag_list="string_agg(t.name, '; ')", segment_id=int(segment_id))
        size = 0
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH CSV HEADER") as copy:
                for block in copy:
                    size += len(block)
            rows = cursor.cursor.rowcount
        return rows, size
    query = RAW_SELECT.format(tag_list="group_concat(t.name, '; ')", segment_id=int(segment_id))
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
    if mode == "cohort":
        _sign_in(username)
    sampler = _PeakSampler()
    sampler.start()
    started = time.perf_counter()
    rows, size = _cohort(segment_id) if mode == "cohort" else _raw(segment_id)
    seconds = time.perf_counter() - started
    sampler.running = False
    sampler.join()
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": rows,
                "bytes": size,
                "peak_rss_mib": round(peak_kib / 1024, 1),
                "peak_anon_mib": round(max(sampler.peak, _anonymous_mib()), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
