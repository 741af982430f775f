"""Operation 9: a mixed read/write workload under load, bounded in clients and time.

`python -m bench.mixed` (bench/__main__.py runs it as a process of its own): 16 clients
for 20 s against gunicorn (production settings, 2 sync workers, as bench.load), on a
dataset of its own of BENCH_MIXED_CONTACTS contacts (default 100,000: never the main
run's 1M), in its own database (cohort_bench_<n>_mixed, or bench_mixed-<n>.sqlite3).
Each client is a thread with one kept-alive connection that loops, until the time is up,
over a weighted mix of what people and integrations do at once:

- API contact lists with filters (a tag, a country, "untagged", a search, a sort);
- the contacts list page with filters and a contact's record page (signed in);
- a tag attached to a contact, then detached again, through the API;
- a segment preview (POST /api/crm/segments/preview).

It reports requests, errors (any answer of 400 or more, or no answer within the 10 s
socket timeout), p50, p99 and the slowest request, overall and per kind; the target is
0 errors and no request over 5 s. The last line printed is the result, as JSON, which
bench/__main__.py turns into its row. BENCH_LOAD_SECONDS shortens the run (smoke test).
"""

from __future__ import annotations

import http.client
import json
import os
import random
import statistics
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from bench import database as bench_database

DEFAULT_CONTACTS = 100_000
CLIENTS = 16
MAX_LATENCY_S = 5.0
SOCKET_TIMEOUT_S = 10.0
RESULT_PREFIX = "MIXED_RESULT "
NAME = "Mixed reads and writes, 16 clients (lists, records, tag attach/detach, preview)"


@dataclass
class Tally:
    """Latencies and errors of one kind of request."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, seconds: float, problem: str | None) -> None:
        self.latencies.append(seconds)
        if problem:
            self.errors += 1
            if len(self.examples) < 3:
                self.examples.append(problem)

    def summary(self) -> dict:
        ordered = sorted(self.latencies)
        return {
            "requests": len(ordered),
            "errors": self.errors,
            "p50_s": _percentile(ordered, 50),
            "p99_s": _percentile(ordered, 99),
            "max_s": ordered[-1] if ordered else None,
            "error_examples": self.examples,
        }


def _percentile(ordered: list[float], percent: int) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Workload:
    """What the clients pick from: ids, tags and credentials of the dataset."""

    first_contact: int
    last_contact: int
    tag_ids: list[int]
    token: str
    session_cookie: str
    search: str

    def contact(self, rng: random.Random) -> int:
        return rng.randint(self.first_contact, self.last_contact)


class Client:
    """One simulated client: a kept-alive connection, its random choices, its tallies."""

    def __init__(self, port: int, workload: Workload, seed: int, tallies: dict) -> None:
        self.port, self.workload, self.tallies = port, workload, tallies
        self.rng = random.Random(seed)
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=SOCKET_TIMEOUT_S)

    def request(self, kind: str, method: str, path: str, body=None, *, api=True) -> int | None:
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if api:
            headers |= {
                "Authorization": f"Bearer {self.workload.token}",
                "Accept": "application/json",
            }
        else:
            headers["Cookie"] = f"sessionid={self.workload.session_cookie}"
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        status, problem = None, None
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            response.read()
            status = response.status
            if status >= 400:
                problem = f"{method} {path} answered {status}"
        except (OSError, http.client.HTTPException) as error:
            problem = f"{method} {path}: {type(error).__name__}: {error}"
            self.connection.close()  # reconnects on the next request
        self.tallies[kind].add(time.perf_counter() - started, problem)
        return status

    # The mix: each step is one of these, by weight.
    def api_list(self) -> None:
        tag = self.rng.choice(self.workload.tag_ids)
        query = self.rng.choice(
            [
                f"tag={tag}&page_size=50",
                f"tag={tag}&country=US&page_size=50",
                "tagged=false&page_size=50",
                f"search={self.workload.search}&page_size=50",
                "ordering=-created_at&page_size=50",
            ]
        )
        self.request("API contact list with filters", "GET", f"/api/crm/contacts?{query}")

    def list_page(self) -> None:
        tag = self.rng.choice(self.workload.tag_ids)
        query = self.rng.choice([f"tag={tag}", f"tag={tag}&country=US", "sort=-created_at"])
        self.request(
            "Contacts list page with filters", "GET", f"/admin/contacts?{query}", api=False
        )

    def record_page(self) -> None:
        contact = self.workload.contact(self.rng)
        self.request("Contact record page", "GET", f"/admin/contacts/{contact}", api=False)

    def attach_and_detach(self) -> None:
        contact, tag = self.workload.contact(self.rng), self.rng.choice(self.workload.tag_ids)
        path = f"/api/crm/contacts/{contact}/tags"
        status = self.request("Tag attach (API)", "POST", path, {"tag_id": tag})
        if status == 201:  # newly attached (200: it already was, and stays)
            self.request("Tag detach (API)", "DELETE", f"{path}/{tag}")

    def preview(self) -> None:
        tag = self.rng.choice(self.workload.tag_ids)
        criteria = {
            "match": "all",
            "conditions": [
                {"field": "tags", "operator": "has_any", "value": [tag]},
                {"field": "country", "operator": "equals", "value": "US"},
            ],
        }
        self.request(
            "Segment preview (API)", "POST", "/api/crm/segments/preview", {"criteria": criteria}
        )

    def run(self, until: float) -> None:
        steps = [self.api_list] * 3 + [self.list_page, self.record_page] * 2
        steps += [self.attach_and_detach] * 2 + [self.preview]
        # One of each first, so that even a short run exercises every kind, then at random.
        for step in dict.fromkeys(steps):
            step()
        while time.monotonic() < until:
            self.rng.choice(steps)()
        self.connection.close()


def run_clients(port: int, workload: Workload, seconds: float) -> dict[str, Tally]:
    tallies: dict[str, Tally] = defaultdict(Tally)
    until = time.monotonic() + seconds
    clients = [Client(port, workload, seed, tallies) for seed in range(CLIENTS)]
    threads = [threading.Thread(target=client.run, args=(until,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 4 * SOCKET_TIMEOUT_S)
    return tallies


def _workload(user) -> Workload:
    from django.db.models import Max, Min
    from django.test import Client as DjangoClient

    from accounts.tokens import issue_token
    from contacts.models import Contact
    from tags.models import Tag

    bounds = Contact.objects.aggregate(first=Min("pk"), last=Max("pk"))
    browser = DjangoClient()
    browser.force_login(user)  # a session row gunicorn's workers read like any other
    last_name = Contact.objects.order_by("pk").values_list("last_name", flat=True).first()
    return Workload(
        first_contact=bounds["first"],
        last_contact=bounds["last"],
        tag_ids=list(Tag.objects.order_by("pk").values_list("pk", flat=True)[:200]),
        token=issue_token(user, "bench mixed load").plain,
        session_cookie=browser.cookies["sessionid"].value,
        search=last_name or "a",
    )


def main() -> int:
    contacts = int(os.environ.get("BENCH_MIXED_CONTACTS") or DEFAULT_CONTACTS)
    seconds = float(os.environ.get("BENCH_LOAD_SECONDS") or 20)
    reuse = os.environ.get("BENCH_REUSE", "") in {"1", "true", "yes"}
    database = bench_database.choose(contacts, kind="mixed")
    if not reuse:
        bench_database.drop(database)
    bench_database.configure_django(database)

    from django.core.management import call_command

    from bench import dataset, load

    dataset.migrate()
    call_command("collectstatic", interactive=False, verbosity=0)
    build = dataset.existing_build(database.name, contacts) if reuse else None
    if build is None:
        print(f"Building {contacts:,} contacts for the mixed load…", flush=True)
        build = dataset.build(database.name, contacts)
    workload = _workload(dataset.bench_user())
    with load.serve(database) as server:
        run_clients(server.number, workload, min(2.0, seconds))  # warm-up, not counted
        started = time.perf_counter()
        tallies = run_clients(server.number, workload, seconds)
        elapsed = time.perf_counter() - started
    exact = load.counters_exact()
    every = Tally()
    for tally in tallies.values():
        every.latencies += tally.latencies
        every.errors += tally.errors
        every.examples += tally.examples[: 3 - len(every.examples)]
    overall = every.summary()
    met = (
        overall["requests"] > 0
        and overall["errors"] == 0
        and overall["max_s"] < MAX_LATENCY_S
        and exact
    )
    result = {
        "name": NAME,
        "cohort": {
            "wall_s": overall["p99_s"],
            "runs_s": [round(overall["p50_s"], 6), round(overall["p99_s"], 6)],
        },
        "target": f"0 errors, no request over {MAX_LATENCY_S:.0f} s",
        "met": met,
        "extra": {
            "note": f"{contacts:,} contacts, {overall['requests']:,} requests in "
            f"{elapsed:.0f} s, {overall['errors']} errors, p50 {overall['p50_s'] * 1000:.0f} ms, "
            f"p99 {overall['p99_s'] * 1000:.0f} ms, max {overall['max_s'] * 1000:.0f} ms",
            "contacts": contacts,
            "database": database.name,
            "clients": CLIENTS,
            "seconds": round(elapsed, 1),
            "requests_per_s": round(overall["requests"] / elapsed, 1),
            **overall,
            "counters_exact_after": exact,
            "by_kind": {kind: tally.summary() for kind, tally in sorted(tallies.items())},
            "mean_s": statistics.fmean(every.latencies) if every.latencies else None,
        },
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
