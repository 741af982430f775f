"""One live segment whose stored criteria fail must not stop the others (#15 H2).

The poisoned criteria are written straight into the database, past validation (which
now refuses them), as rows saved before that validation existed would be. The failing
segment is marked, shown, audited once, skipped; editing it or a successful sync
brings it back with its members right.
"""

import pytest

from audit.models import AuditEntry
from contacts.models import Contact
from contacts.services import save_contact
from segments import services
from segments.jobs import request_sync
from segments.live import update_live_segments
from segments.models import Segment
from segments.tests.live_world import US, all_of, assert_exact, make_live, names, one

# created_at after 9999-12-31 cannot be compiled (the day after overflows); a lead score
# of 10**30 is refused by the database drivers when the statement runs.
POISONS = {
    "date out of range": all_of(US, one("created_at", "after", "9999-12-31")),
    "number out of range": all_of(US, one("lead_score", "greater_than", 10**30)),
}


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def move_to_us(committed, contact: Contact) -> None:
    contact.country = "US"
    with committed(execute=True):
        save_contact(contact)


def poison(segment: Segment, criteria: dict) -> None:
    Segment.objects.filter(pk=segment.pk).update(criteria=criteria)


def stopped_entries(segment: Segment):
    return AuditEntry.objects.filter(action="segment.live_failed", target_id=segment.pk)


@pytest.fixture(params=sorted(POISONS))
def poisoned(request, cast, committed):
    """A live segment whose stored criteria fail, made live (and synced) with good ones."""
    segment = make_live(committed, "Poisoned", all_of(US))
    poison(segment, POISONS[request.param])
    return segment


def test_other_live_segments_keep_following_changes(cast, committed, poisoned):
    americans = make_live(committed, "Americans", all_of(US))
    # ids around the poisoned one: it is neither first nor last
    later = make_live(committed, "Later Americans", all_of(US))

    move_to_us(committed, cast["Bob"])
    move_to_us(committed, cast["Cy"])

    assert names(americans) == names(later) == {"Ann", "Bob", "Cy", "Dee"}
    assert_exact(americans)
    assert_exact(later)
    poisoned.refresh_from_db()
    assert poisoned.live_failed_at is not None
    assert poisoned.live_error  # the exception's type and message
    assert names(poisoned) == {"Ann", "Dee"}  # skipped, left as it was


def test_the_failure_is_audited_once_and_the_segment_skipped(cast, committed, poisoned):
    move_to_us(committed, cast["Bob"])
    poisoned.refresh_from_db()
    first_error, stopped_at = poisoned.live_error, poisoned.live_failed_at

    move_to_us(committed, cast["Cy"])
    update_live_segments([cast["Ann"].pk, cast["Dee"].pk])

    [entry] = stopped_entries(poisoned)
    assert entry.details["error"] == first_error
    assert entry.summary.startswith("Skipped until fixed.")
    poisoned.refresh_from_db()
    assert (poisoned.live_error, poisoned.live_failed_at) == (first_error, stopped_at)


def test_the_page_the_list_and_the_api_say_live_updates_stopped(
    cast, committed, poisoned, browser_client, api
):
    move_to_us(committed, cast["Bob"])
    poisoned.refresh_from_db()

    page = browser_client.get(f"/admin/crm-segments/{poisoned.pk}").content.decode()
    assert "Live updates stopped" in page
    assert poisoned.live_error.split(":")[0] in page
    listing = browser_client.get("/admin/crm-segments").content.decode()
    assert "Live updates stopped" in listing
    body = api.get(f"/api/crm/segments/{poisoned.pk}").json()
    assert body["live_error"] == poisoned.live_error
    assert body["live_failed_at"] is not None


def test_healthy_segments_show_nothing(cast, committed, browser_client, api):
    americans = make_live(committed, "Americans", all_of(US))
    move_to_us(committed, cast["Bob"])
    assert "Live updates stopped" not in browser_client.get("/admin/crm-segments").content.decode()
    body = api.get(f"/api/crm/segments/{americans.pk}").json()
    assert (body["live_error"], body["live_failed_at"]) == ("", None)


def test_editing_the_criteria_clears_the_mark_and_resyncs(cast, committed, poisoned, manager):
    move_to_us(committed, cast["Bob"])  # missed by the poisoned segment
    with committed(execute=True):
        services.update_segment(
            Segment.objects.get(pk=poisoned.pk), user=manager, criteria=all_of(US)
        )

    poisoned.refresh_from_db()
    assert (poisoned.live_error, poisoned.live_failed_at) == ("", None)
    assert names(poisoned) == {"Ann", "Bob", "Dee"}  # the full sync caught up
    move_to_us(committed, cast["Cy"])  # and live updates run again
    assert names(poisoned) == {"Ann", "Bob", "Cy", "Dee"}
    assert_exact(poisoned)


def test_a_successful_sync_clears_the_mark(cast, committed, poisoned, manager):
    move_to_us(committed, cast["Bob"])
    # the cause is fixed elsewhere (here: the stored criteria repaired), then Sync is clicked
    poison(poisoned, all_of(US))
    job = request_sync(Segment.objects.get(pk=poisoned.pk), manager)

    assert job.state == "succeeded", job.error
    poisoned.refresh_from_db()
    assert (poisoned.live_error, poisoned.live_failed_at) == ("", None)
    assert names(poisoned) == {"Ann", "Bob", "Dee"}
    move_to_us(committed, cast["Cy"])
    assert names(poisoned) == {"Ann", "Bob", "Cy", "Dee"}


def test_a_failing_sync_leaves_the_mark(cast, committed, poisoned, manager):
    move_to_us(committed, cast["Bob"])
    job = request_sync(Segment.objects.get(pk=poisoned.pk), manager)

    assert job.state == "failed"
    poisoned.refresh_from_db()
    assert poisoned.live_failed_at is not None
    assert len(stopped_entries(poisoned)) == 1
