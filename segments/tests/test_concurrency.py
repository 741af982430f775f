"""Concurrent syncs on PostgreSQL: they never interleave, and membership stays consistent.

SQLite needs no such test: its IMMEDIATE transactions admit one writer at a time.
"""

import threading
import time

import pytest

from django.db import connection

from segments import services, sync
from segments.models import Segment, SegmentMember, SyncRun
from segments.sync import SyncInProgress, sync_segment

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks"),
    # serialized_rollback: the flush after a transactional test must not lose the seeded roles.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

US = {"conditions": [{"field": "country", "operator": "equals", "value": "US"}]}


@pytest.fixture
def slow_sync(monkeypatch):
    """Hold the lock long enough that a second sync surely arrives while the first runs."""
    replace = sync._replace_membership

    def slowly(*args, **kwargs):
        time.sleep(0.5)
        return replace(*args, **kwargs)

    monkeypatch.setattr(sync, "_replace_membership", slowly)


def in_threads(*jobs) -> list:
    """Run each job in its own thread (and connection), started together; their results."""
    results: list = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as exc:  # the test inspects it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def check_consistent(segment: Segment, cast) -> None:
    segment.refresh_from_db()
    members = set(
        SegmentMember.objects.filter(segment=segment).values_list("contact_id", flat=True)
    )
    assert members == {cast["Ann"].pk, cast["Dee"].pk}
    assert segment.member_count == len(members)


def test_a_second_sync_while_one_runs_is_refused(cast, manager, slow_sync):
    segment = services.create_segment(name="Americans", criteria=US, user=manager)

    def job():
        return sync_segment(Segment.objects.get(pk=segment.pk), manager)

    results = in_threads(job, job)

    refused = [r for r in results if isinstance(r, SyncInProgress)]
    runs = [r for r in results if isinstance(r, SyncRun)]
    assert len(refused) == 1 and len(runs) == 1, results
    assert runs[0].outcome == "succeeded"
    assert SyncRun.objects.filter(segment=segment).count() == 1
    check_consistent(segment, cast)


def test_syncs_that_wait_run_one_after_the_other(cast, manager, slow_sync):
    segment = services.create_segment(name="Americans", criteria=US, user=manager)

    def job():
        return sync_segment(Segment.objects.get(pk=segment.pk), manager, wait=True)

    results = in_threads(job, job)

    assert all(isinstance(r, SyncRun) and r.outcome == "succeeded" for r in results), results
    assert sorted(r.added for r in results) == [0, 2]
    assert SyncRun.objects.filter(segment=segment).count() == 2
    check_consistent(segment, cast)


def test_a_manual_add_during_a_sync_waits_and_counts(cast, manager, slow_sync):
    segment = services.create_segment(name="Americans", criteria=US, user=manager)

    def syncing():
        return sync_segment(Segment.objects.get(pk=segment.pk), manager)

    def adding():
        time.sleep(0.1)  # let the sync take its locks first
        return services.add_member(Segment.objects.get(pk=segment.pk), cast["Bob"], manager)

    results = in_threads(syncing, adding)

    assert isinstance(results[0], SyncRun), results
    assert results[1] is True
    segment.refresh_from_db()
    assert segment.member_count == SegmentMember.objects.filter(segment=segment).count() == 3
