"""100,000 generated rows through the service: the time is printed, not asserted."""

import time

from contacts.models import Contact
from tags.models import Tag
from transfers.services import import_csv


def test_time_for_100000_rows(admin_user, capsys):
    lines = ["first_name,last_name,email,company,country,lead_score,owner,tags"]
    for i in range(100_000):
        tags = ["saas", "hot-lead", "event-2026", ""][i % 4]
        lines.append(
            f"First{i},Last{i},person{i}@example.com,Company {i % 500},DE,{i % 101},admin,{tags}"
        )
    data = ("\n".join(lines) + "\n").encode()

    started = time.perf_counter()
    plan = import_csv("contacts", data, user=admin_user, dry_run=False)
    elapsed = time.perf_counter() - started

    assert plan.summary() == "100000 new, 0 updated, 0 skipped, 0 errors"
    assert Contact.objects.count() == 100_000
    assert Tag.objects.get(name="saas").contacts_count == 25_000
    with capsys.disabled():
        print(f"\n100,000-row contact import (3 tags): {elapsed:.1f} s")
