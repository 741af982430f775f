"""A live segment follows every change that criteria can see, right after the commit:
tags (attach, detach, bulk, merge), contact edits (page and API), deals, activities,
imports. Each test ends by checking that a sync would change nothing."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest

from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from activities.models import Activity
from activities.services import delete_activity, log_activity
from contacts.models import Contact
from deals.models import Deal
from segments.models import Segment
from segments.tests.live_world import (
    US,
    all_of,
    assert_exact,
    changes,
    make_live,
    names,
    one,
)
from tags import services as tags
from tags.counters import recount_tags
from tags.records import TAGGABLE_TYPES
from transfers.services import import_csv

CONTACTS = TAGGABLE_TYPES["contacts"]


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def vips(cast, committed):
    """Live: contacts tagged vip (Ann and Dee)."""
    recount_tags()  # the cast's links were made without the services' counters
    return make_live(committed, "VIPs", all_of(one("tags", "has", cast.tags["vip"].pk)))


def test_made_live_it_is_filled_by_a_sync(vips):
    assert names(vips) == {"Ann", "Dee"}
    assert vips.member_count == 2
    assert vips.last_run is not None and vips.last_run.added == 2
    assert changes(vips) == [("Ann", "joined", "sync"), ("Dee", "joined", "sync")]


def test_it_follows_a_tag_attach_and_detach(cast, vips, committed):
    bob = cast["Bob"]
    with committed(execute=True):
        assert tags.attach_tag(bob, cast.tags["vip"])
    assert names(vips) == {"Ann", "Bob", "Dee"}

    with committed(execute=True):
        assert tags.detach_tag(cast["Ann"], cast.tags["vip"])
    assert names(vips) == {"Bob", "Dee"}
    assert changes(vips, reason="live") == [("Bob", "joined", "live"), ("Ann", "left", "live")]
    assert_exact(vips)


def test_nothing_moves_before_the_commit(cast, vips, committed):
    with committed(execute=False) as callbacks:
        tags.attach_tag(cast["Bob"], cast.tags["vip"])
    assert names(vips) == {"Ann", "Dee"}  # the change is not committed yet
    assert len(callbacks) == 1


def test_it_follows_a_bulk_tag_both_ways(cast, vips, committed):
    everyone = Contact.objects.all()
    with committed(execute=True):
        result = tags.bulk_tag(CONTACTS, everyone, add=[cast.tags["vip"]])
    assert result.added == 2  # Bob and Cy
    assert names(vips) == {"Ann", "Bob", "Cy", "Dee"}

    with committed(execute=True):
        tags.bulk_tag(
            CONTACTS, everyone.filter(first_name__in=["Ann", "Bob"]), remove=[cast.tags["vip"]]
        )
    assert names(vips) == {"Cy", "Dee"}
    assert_exact(vips)


def test_it_follows_a_merge_into_a_tag_it_tests(cast, vips, committed):
    gold = tags.create_tag("gold")
    tags.attach_tag(cast["Cy"], gold)

    with committed(execute=True):
        tags.merge_tags(gold, cast.tags["vip"])

    assert names(vips) == {"Ann", "Cy", "Dee"}
    assert_exact(vips)


def test_it_follows_a_contact_edited_through_the_api(cast, committed, api):
    americans = make_live(committed, "Americans", all_of(US))
    assert names(americans) == {"Ann", "Dee"}

    with committed(execute=True):
        response = api.patch(
            f"/api/crm/contacts/{cast['Bob'].pk}", {"country": "US"}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert names(americans) == {"Ann", "Bob", "Dee"}

    with committed(execute=True):
        response = api.post(
            "/api/crm/contacts", {"first_name": "Eve", "country": "US"}, format="json"
        )
    assert response.status_code == 201, response.json()
    assert names(americans) == {"Ann", "Bob", "Dee", "Eve"}
    assert_exact(americans)


def test_it_follows_a_contact_edited_on_its_page(cast, committed, browser_client):
    americans = make_live(committed, "Americans", all_of(US))
    ann = cast["Ann"]
    form = {
        "first_name": ann.first_name,
        "last_name": ann.last_name,
        "email": ann.email,
        "country": "GB",
        "lifecycle_stage": ann.lifecycle_stage,
        "lead_score": ann.lead_score,
        "source": ann.source,
    }

    with committed(execute=True):
        response = browser_client.post(reverse("contact_edit", args=[ann.pk]), form)

    assert response.status_code == 302
    assert names(americans) == {"Dee"}
    assert changes(americans, reason="live") == [("Ann", "left", "live")]
    assert_exact(americans)


def test_it_follows_deals_created_moved_and_deleted(cast, committed, api):
    # given: contacts with at least one deal in proposal (Bob)
    in_proposal = make_live(committed, "Proposals", all_of(one("deal_stage", "has", "proposal")))
    assert names(in_proposal) == {"Bob"}

    # when a deal in proposal is made for Cy, then moved to Dee, then deleted
    with committed(execute=True):
        response = api.post(
            "/api/crm/deals",
            {"title": "Big", "contact": cast["Cy"].pk, "stage": "proposal", "value": "10.00"},
            format="json",
        )
    assert response.status_code == 201, response.json()
    assert names(in_proposal) == {"Bob", "Cy"}
    deal_id = response.json()["id"]

    with committed(execute=True):
        response = api.patch(
            f"/api/crm/deals/{deal_id}", {"contact": cast["Dee"].pk}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert names(in_proposal) == {"Bob", "Dee"}

    with committed(execute=True):
        assert api.delete(f"/api/crm/deals/{deal_id}").status_code == 204
    assert names(in_proposal) == {"Bob"}
    assert_exact(in_proposal)


def test_it_follows_a_deal_saved_on_its_page(cast, committed, browser_client):
    big_winners = make_live(
        committed, "Big winners", all_of(one("won_deals_value", "greater_than", 1000))
    )
    assert names(big_winners) == {"Ann"}
    deal = Deal.objects.create(title="Small", contact=cast["Dee"], stage="won", value=Decimal(10))
    form = {"title": "Large", "contact": cast["Dee"].pk, "value": "2000", "currency": "USD"}

    with committed(execute=True):
        response = browser_client.post(
            reverse("deal_edit", args=[deal.pk]), {**form, "stage": "won"}
        )

    assert response.status_code == 302
    assert names(big_winners) == {"Ann", "Dee"}
    assert_exact(big_winners)


def test_it_follows_activities_logged_and_deleted(cast, committed, admin_user):
    recently_active = make_live(
        committed, "Recently active", all_of(one("last_activity_at", "in_last_days", 30))
    )
    assert names(recently_active) == {"Ann"}

    with committed(execute=True):
        call = log_activity(
            Activity(contact=cast["Cy"], subject="Call", kind="call", owner=admin_user)
        )
    assert names(recently_active) == {"Ann", "Cy"}

    with committed(execute=True):
        delete_activity(call)
    assert names(recently_active) == {"Ann"}
    assert_exact(recently_active)


def test_it_follows_an_import(cast, committed, admin_user):
    vip = cast.tags["vip"]
    american_vips = make_live(committed, "American VIPs", all_of(US, one("tags", "has", vip.pk)))
    data = (
        b"first_name,email,country,tags\n"
        b"Fay,fay@example.com,US,vip\n"
        b"Gus,gus@example.com,GB,vip\n"
        b"Hal,hal@example.com,US,\n"
    )

    with committed(execute=True):
        plan = import_csv("contacts", data, user=admin_user, dry_run=False)

    assert plan.imported and not plan.errors
    assert names(american_vips) == {"Ann", "Dee", "Fay"}
    assert_exact(american_vips)


def test_a_contact_removed_by_hand_stays_out_when_a_tag_would_bring_it_in(
    cast, vips, committed, manager
):
    from segments import services

    with committed(execute=True):
        services.remove_member(vips, cast["Ann"], manager)
    assert names(vips) == {"Dee"}

    # Ann loses and regains the tag: a live update must not bring her back.
    with committed(execute=True):
        tags.detach_tag(cast["Ann"], cast.tags["vip"])
        tags.attach_tag(cast["Ann"], cast.tags["vip"])
    assert names(vips) == {"Dee"}

    # Added by hand again, she is a member again (by hand), and a tag change keeps her.
    with committed(execute=True):
        assert services.add_member(vips, cast["Ann"], manager)
    with committed(execute=True):
        tags.attach_tag(cast["Ann"], cast.tags["enterprise"])
    assert names(vips) == {"Ann", "Dee"}
    assert_exact(vips)


def test_relative_dates_move_only_with_the_sweep(cast, committed):
    from segments.tasks import sweep_live_segments

    recently_active = make_live(
        committed, "Recently active", all_of(one("last_activity_at", "in_last_days", 30))
    )
    vips = make_live(committed, "VIPs", all_of(one("tags", "has", cast.tags["vip"].pk)))
    runs_of_vips = vips.runs.count()
    # Time passes: Ann's last activity is now 40 days old, without any change to her.
    Contact.objects.filter(pk=cast["Ann"].pk).update(
        last_activity_at=timezone.now() - timedelta(days=40)
    )
    assert names(recently_active) == {"Ann"}

    with committed(execute=True):
        result = sweep_live_segments.delay().get()

    assert result == {"synced": 1, "queued": 0, "busy": 0, "failed": 0}
    assert names(recently_active) == set()
    assert changes(recently_active)[-1] == ("Ann", "left", "sync")
    assert vips.runs.count() == runs_of_vips  # no relative dates: not swept


def test_without_beat_the_command_sweeps_what_is_due(cast, committed, settings):
    recently_active = make_live(
        committed, "Recently active", all_of(one("last_activity_at", "in_last_days", 30))
    )
    Contact.objects.filter(pk=cast["Ann"].pk).update(
        last_activity_at=timezone.now() - timedelta(days=40)
    )

    # just synced: not due yet
    out = io.StringIO()
    call_command("run_scheduled_syncs", stdout=out)
    assert out.getvalue() == "Started 0 scheduled syncs.\n"
    assert names(recently_active) == {"Ann"}

    # not synced for the sweep's interval: re-synced
    overdue = timezone.now() - timedelta(minutes=settings.COHORT_LIVE_SWEEP_MINUTES + 1)
    Segment.objects.filter(pk=recently_active.pk).update(last_synced_at=overdue)
    out = io.StringIO()
    with committed(execute=True):
        call_command("run_scheduled_syncs", stdout=out)
    assert out.getvalue().splitlines()[1] == (
        "Live segments with relative dates: 1 re-synced, 0 already syncing, 0 failed."
    )
    assert names(recently_active) == set()
