"""No web request waits for a running sync, and concurrent requests agree on one job (#15 M3);
edits that point segments at each other never deadlock (#15 L1).

PostgreSQL with real concurrency: each request runs in a thread of its own, on its own
connection, while a real sync job holds the segment (its advisory lock and its row lock)
in another. SQLite admits one writer at a time, so there is nothing to race there.
"""

import threading
import time
from contextlib import contextmanager

import pytest

from django.db import connection, connections

from jobs.choices import JobKind, JobState
from jobs.models import Job
from segments import services, sync
from segments.jobs import request_sync
from segments.models import CriteriaReference, Segment, SegmentMember
from segments.tests.live_world import US, all_of, one
from testing.concurrency import errors_in, in_threads

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BUSY = "A sync of this segment is running; try again when it finishes."
QUICK = 1.0  # seconds: what "answers at once" means here
HOLD = 4.0  # seconds the sync is held at most while the requests run


@pytest.fixture(autouse=True)
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's test database admits one writer at a time: nothing to race")


@pytest.fixture
def held_sync(monkeypatch):
    """Every sync stops after taking its locks, until released (or HOLD * 5 s)."""
    reached, release = threading.Event(), threading.Event()
    replace = sync._replace_membership

    def held(*args, **kwargs):
        reached.set()
        release.wait(timeout=HOLD * 5)
        return replace(*args, **kwargs)

    monkeypatch.setattr(sync, "_replace_membership", held)
    return reached, release


@contextmanager
def sync_running(segment, user, held_sync):
    """A Sync by hand of the segment, in progress in another thread until the block ends."""
    reached, release = held_sync
    outcome = {}

    def run():
        try:
            outcome["job"] = request_sync(Segment.objects.get(pk=segment.pk), user)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert reached.wait(timeout=10), "the sync never started"
        yield
    finally:
        release.set()
        thread.join(timeout=30)
    assert outcome["job"].state == JobState.SUCCEEDED, outcome["job"].error


def timed_in_threads(calls: dict) -> dict:
    """Each call in its own thread at once; (result or error, seconds) by name, waiting at
    most HOLD seconds for them all (the held sync goes on meanwhile)."""
    answers: dict = {}

    def run(name, call):
        start = time.monotonic()
        try:
            answers[name] = (call(), time.monotonic() - start)
        except Exception as error:  # the test inspects it
            answers[name] = (error, time.monotonic() - start)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + HOLD
    for thread in threads:
        thread.join(timeout=max(deadline - time.monotonic(), 0))
    return {name: answers.get(name, ("still waiting", HOLD)) for name in calls}


@pytest.fixture
def americans(cast, manager):
    return services.create_segment(name="Americans", criteria=all_of(US), user=manager)


def test_twenty_sync_requests_at_once_make_exactly_one_job(
    americans, manager, api_client_for, held_sync
):
    clients = [api_client_for(manager) for _ in range(20)]
    url = f"/api/crm/segments/{americans.pk}/sync"

    def click(client):
        return lambda: client.post(url)

    # when 20 people click Sync at the same moment, while a sync runs
    with sync_running(americans, manager, held_sync):
        running = Job.objects.get(segment=americans, state=JobState.RUNNING)
        answers = timed_in_threads({index: click(client) for index, client in enumerate(clients)})

    # then all answered while it was still running (20 requests on two cores take about a
    # second), each naming its job, and no second job was made after it
    assert all(answer != "still waiting" for answer, _ in answers.values()), answers
    assert {response.status_code for response, _ in answers.values()} == {202}
    assert {response.json()["id"] for response, _ in answers.values()} == {str(running.pk)}
    assert Job.objects.filter(segment=americans, kind=JobKind.SEGMENT_SYNC).count() == 1


def test_twenty_sync_requests_with_none_running_make_exactly_one_job(
    americans, manager, api_client_for, held_sync
):
    _, release = held_sync
    clients = [api_client_for(manager) for _ in range(20)]
    url = f"/api/crm/segments/{americans.pk}/sync"

    def click(client):
        return lambda: client.post(url)

    # when 20 clicks start at once and the first one's sync is held
    try:
        answers = timed_in_threads({index: click(client) for index, client in enumerate(clients)})
    finally:
        release.set()

    # then the other 19 joined its job while it ran, and only that job exists
    job = Job.objects.get(segment=americans)
    joined = [answer for answer, _ in answers.values() if answer != "still waiting"]
    assert len(joined) >= 19, answers
    assert {response.json()["id"] for response in joined} == {str(job.pk)}
    time.sleep(0.5)
    assert Job.objects.filter(segment=americans, kind=JobKind.SEGMENT_SYNC).count() == 1


def test_during_a_running_sync_requests_answer_at_once(
    americans, cast, manager, api_client_for, held_sync
):
    api = api_client_for(manager)
    base = f"/api/crm/segments/{americans.pk}"
    bob = cast["Bob"]

    with sync_running(americans, manager, held_sync):
        running = Job.objects.get(segment=americans, state=JobState.RUNNING)
        answers = timed_in_threads(
            {
                "sync": lambda: api.post(f"{base}/sync"),
                "edit": lambda: api.patch(base, {"name": "Yanks"}, format="json"),
                "add": lambda: api.post(f"{base}/contacts", {"contact_id": bob.pk}, format="json"),
                "remove": lambda: api.delete(f"{base}/contacts/{cast['Ann'].pk}"),
                "delete": lambda: api.delete(base),
            }
        )

    for name, (_, seconds) in answers.items():
        assert seconds < QUICK, f"{name} waited {seconds:.1f} s for the sync"
    assert answers["sync"][0].status_code == 202
    assert answers["sync"][0].json()["id"] == str(running.pk)  # joined, no second job
    for name in ("edit", "add", "remove", "delete"):
        response = answers[name][0]
        assert (response.status_code, response.json()) == (409, {"detail": BUSY}), name
    # nothing of the refused changes happened; the sync's membership stands
    americans.refresh_from_db()
    assert americans.name == "Americans"
    members = set(SegmentMember.objects.filter(segment=americans).values_list("contact", flat=True))
    assert members == {cast["Ann"].pk, cast["Dee"].pk}
    assert americans.member_count == 2
    assert Job.objects.filter(segment=americans).count() == 1


def test_during_a_running_sync_the_pages_say_so_at_once(
    americans, cast, manager, client, held_sync
):
    client.force_login(manager)
    base = f"/admin/crm-segments/{americans.pk}"

    with sync_running(americans, manager, held_sync):
        answers = timed_in_threads(
            {
                "add": lambda: client.post(f"{base}/members", {"contact_id": cast["Bob"].pk}),
                "edit": lambda: client.post(
                    f"{base}/edit",
                    {"name": "Yanks", "description": "", "criteria": '{"conditions": []}'},
                ),
                "delete": lambda: client.post(f"{base}/delete"),
            }
        )

    for name, (_, seconds) in answers.items():
        assert seconds < QUICK, f"{name} waited {seconds:.1f} s for the sync"
    # a plain form post goes back to the segment page, whose message says why
    assert answers["add"][0].status_code == 302
    page = client.get(answers["add"][0]["Location"])
    assert BUSY in page.content.decode()
    for name in ("edit", "delete"):
        response = answers[name][0]
        assert response.status_code == 409, name
        assert BUSY in response.content.decode(), name
    assert Segment.objects.filter(pk=americans.pk, name="Americans").exists()


def test_an_edit_of_a_segment_pointing_at_a_syncing_one_does_not_wait(
    americans, manager, held_sync
):
    other = services.create_segment(name="Others", criteria=all_of(US), user=manager)
    with sync_running(americans, manager, held_sync):
        [(answer, seconds)] = timed_in_threads(
            {
                "edit": lambda: services.update_segment(
                    Segment.objects.get(pk=other.pk),
                    user=manager,
                    criteria=all_of(one("segment", "in_segment", americans.pk)),
                )
            }
        ).values()
    assert isinstance(answer, Segment), answer
    assert seconds < QUICK


def test_edits_pointing_two_segments_at_each_other_never_deadlock(cast, manager):
    # given segments A < B < C, where B's edit points at A and A's at C, both locking B's
    # neighbour rows in opposite orders without a global order
    a = services.create_segment(name="A", criteria=all_of(US), user=manager)
    b = services.create_segment(name="B", criteria=all_of(US), user=manager)
    for _ in range(8):
        services.update_segment(a, user=manager, criteria=all_of(US))
        services.update_segment(b, user=manager, criteria=all_of(US))

        def point(segment, target):
            return lambda: services.update_segment(
                Segment.objects.get(pk=segment.pk),
                user=manager,
                criteria=all_of(one("segment", "in_segment", target.pk)),
            )

        # when both edits run at once
        results = in_threads(point(a, b), point(b, a))

        # then one wins and the other is refused with the cycle, never a deadlock (a 500)
        errors = errors_in(results)
        assert len(errors) == 1, results
        assert "would make a cycle" in str(errors[0]), errors
        edges = set(
            CriteriaReference.objects.filter(target__isnull=False).values_list(
                "segment_id", "target_id"
            )
        )
        assert edges in ({(a.pk, b.pk)}, {(b.pk, a.pk)})
