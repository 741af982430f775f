"""Sync rules: members by rule, manual additions kept or dropped, removals that persist."""

import pytest

from django.db import OperationalError

from contacts.models import Contact
from segments import notify, services, sync
from segments.choices import AddedHow, SyncOutcome
from segments.models import SegmentMember, SegmentRemoval, SyncRun
from segments.sync import SyncInProgress, sync_segment

US = {"field": "country", "operator": "equals", "value": "US"}
HIGH_SCORE = {"field": "lead_score", "operator": "greater_than", "value": 70}


def members(segment) -> dict[str, str]:
    """First name -> how the contact was added."""
    return dict(
        SegmentMember.objects.filter(segment=segment).values_list(
            "contact__first_name", "added_how"
        )
    )


def all_of(*conditions) -> dict:
    return {"match": "all", "conditions": list(conditions)}


def test_sync_adds_matching_contacts_by_rule_and_records_the_run(cast, make_segment, manager):
    segment = make_segment(criteria=all_of(US))

    run = sync_segment(segment, manager)

    assert members(segment) == {"Ann": "rule", "Dee": "rule"}
    assert run.outcome == SyncOutcome.SUCCEEDED
    assert (run.matched, run.added, run.removed, run.members_after) == (2, 2, 0, 2)
    assert run.triggered_by == manager
    assert run.started_at <= run.finished_at
    assert run.duration_ms >= 0
    assert run.criteria == all_of(US)
    segment.refresh_from_db()
    assert segment.member_count == 2
    assert segment.last_synced_at == run.finished_at
    assert segment.last_run == run


def test_a_resync_without_changes_changes_nothing(cast, make_segment, manager):
    segment = make_segment(criteria=all_of(US))
    sync_segment(segment, manager)
    added_at = dict(SegmentMember.objects.values_list("contact_id", "added_at"))

    run = sync_segment(segment, manager)

    assert (run.matched, run.added, run.removed, run.members_after) == (2, 0, 0, 2)
    assert dict(SegmentMember.objects.values_list("contact_id", "added_at")) == added_at
    assert SyncRun.objects.filter(segment=segment).count() == 2


def test_contacts_that_stop_matching_leave_and_new_matches_join(cast, make_segment, manager):
    segment = make_segment(criteria=all_of(US))
    sync_segment(segment, manager)
    Contact.objects.filter(pk=cast["Ann"].pk).update(country="FR")
    Contact.objects.filter(pk=cast["Bob"].pk).update(country="US")

    run = sync_segment(segment, manager)

    assert members(segment) == {"Bob": "rule", "Dee": "rule"}
    assert (run.added, run.removed, run.members_after) == (1, 1, 2)


def test_manual_addition_stays_while_it_matches_one_top_level_condition(
    cast, make_segment, manager
):
    # given Ann by rule; Dee (US, score 0) and Bob (GB, 40) added by hand
    segment = make_segment(criteria=all_of(US, HIGH_SCORE))
    sync_segment(segment, manager)
    assert services.add_member(segment, cast["Dee"], manager)
    assert services.add_member(segment, cast["Bob"], manager)

    # when
    run = sync_segment(segment, manager)

    # then Dee still matches "country equals US"; Bob matches neither condition
    assert members(segment) == {"Ann": "rule", "Dee": "manual"}
    assert (run.matched, run.added, run.removed) == (1, 0, 1)


def test_a_nested_group_counts_as_one_condition(cast, make_segment, manager):
    group = {
        "match": "all",
        "conditions": [HIGH_SCORE, {"field": "deal_stage", "operator": "has", "value": "won"}],
    }
    segment = make_segment(criteria=all_of({**US, "value": "FR"}, group))
    # Ann meets the whole group; Cy only its first condition, which alone does not count.
    services.add_member(segment, cast["Ann"], manager)
    services.add_member(segment, cast["Cy"], manager)

    sync_segment(segment, manager)

    assert members(segment) == {"Ann": "manual"}


def test_under_match_none_a_manual_addition_must_avoid_one_condition(cast, make_segment, manager):
    segment = make_segment(criteria={"match": "none", "conditions": [US, HIGH_SCORE]})
    services.add_member(segment, cast["Ann"], manager)  # US and 80: fails both
    services.add_member(segment, cast["Dee"], manager)  # US but 0: avoids the score

    sync_segment(segment, manager)

    assert members(segment) == {"Bob": "rule", "Dee": "manual"}


def test_a_manual_member_that_matches_stays_manual(cast, make_segment, manager):
    segment = make_segment(criteria=all_of(US))
    services.add_member(segment, cast["Ann"], manager)

    run = sync_segment(segment, manager)

    assert members(segment) == {"Ann": "manual", "Dee": "rule"}
    assert run.added == 1


def test_a_removed_contact_stays_out_until_added_by_hand_again(cast, make_segment, manager):
    segment = make_segment(criteria=all_of(US))
    sync_segment(segment, manager)

    assert services.remove_member(segment, cast["Dee"], manager)
    run = sync_segment(segment, manager)

    assert members(segment) == {"Ann": "rule"}
    assert (run.matched, run.added, run.members_after) == (2, 0, 1)
    removal = SegmentRemoval.objects.get(segment=segment)
    assert (removal.contact, removal.removed_by) == (cast["Dee"], manager)

    # when added by hand again the removal is forgotten and syncs keep it
    assert services.add_member(segment, cast["Dee"], manager)
    assert not SegmentRemoval.objects.filter(segment=segment).exists()
    sync_segment(segment, manager)
    assert members(segment) == {"Ann": "rule", "Dee": "manual"}


def test_a_segment_without_conditions_keeps_every_manual_addition(cast, make_segment, manager):
    segment = make_segment(criteria={"match": "all", "conditions": []})
    services.add_member(segment, cast["Ann"], manager)
    services.add_member(segment, cast["Cy"], manager)

    run = sync_segment(segment, manager)

    assert members(segment) == {"Ann": "manual", "Cy": "manual"}
    assert (run.matched, run.added, run.removed, run.members_after) == (0, 0, 0, 2)


def test_clearing_the_criteria_drops_rule_members_but_not_manual_ones(cast, make_segment, manager):
    segment = make_segment(criteria=all_of(US))
    sync_segment(segment, manager)
    services.add_member(segment, cast["Bob"], manager)
    services.update_segment(segment, user=manager, criteria={"conditions": []})

    run = sync_segment(segment, manager)

    assert members(segment) == {"Bob": "manual"}
    assert run.removed == 2


def test_a_failed_sync_leaves_membership_intact_and_records_the_error(
    cast, make_segment, manager, monkeypatch
):
    # given a synced segment whose criteria then change
    segment = make_segment(criteria=all_of(US))
    first = sync_segment(segment, manager)
    services.update_segment(segment, user=manager, criteria=all_of({**US, "value": "GB"}))

    # when the sync breaks after it has deleted the leavers
    def broken_insert(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(sync, "insert_newcomers", broken_insert)
    run = sync_segment(segment, manager)

    # then nothing changed but the history
    assert run.outcome == SyncOutcome.FAILED
    assert "disk on fire" in run.error
    assert run.members_after == 2
    assert run.triggered_by == manager
    assert members(segment) == {"Ann": "rule", "Dee": "rule"}
    segment.refresh_from_db()
    assert segment.member_count == 2
    assert segment.last_synced_at == first.finished_at
    assert segment.last_run == run
    assert list(SyncRun.objects.filter(segment=segment).values_list("outcome", flat=True)) == [
        "failed",
        "succeeded",
    ]


def test_in_segment_uses_the_other_segments_last_sync(cast, make_segment, manager):
    americans = make_segment("Americans", criteria=all_of(US))
    segment = make_segment(
        "Americans with high scores",
        criteria=all_of(
            {"field": "segment", "operator": "in_segment", "value": americans.pk}, HIGH_SCORE
        ),
    )

    assert sync_segment(segment, manager).members_after == 0  # Americans not synced yet
    sync_segment(americans, manager)
    sync_segment(segment, manager)

    assert members(segment) == {"Ann": "rule"}


def test_manual_add_and_remove_keep_member_count(cast, make_segment, manager):
    segment = make_segment()

    assert services.add_member(segment, cast["Ann"], manager) is True
    assert services.add_member(segment, cast["Ann"], manager) is False
    assert segment.member_count == 1
    assert services.remove_member(segment, cast["Bob"], manager) is False
    assert not SegmentRemoval.objects.exists()
    assert services.remove_member(segment, cast["Ann"], manager) is True
    segment.refresh_from_db()
    assert segment.member_count == 0


def test_deleted_contacts_leave_and_forget_contacts_keeps_the_count(cast, make_segment, manager):
    segment = make_segment(criteria=all_of(US))
    sync_segment(segment, manager)
    doomed = Contact.objects.filter(pk=cast["Dee"].pk)

    notify.forget_contacts(doomed)
    doomed.delete()

    assert members(segment) == {"Ann": "rule"}
    segment.refresh_from_db()
    assert segment.member_count == 1


def test_recount_members_repairs_the_counter(cast, make_segment, manager):
    segment = make_segment(criteria=all_of(US))
    sync_segment(segment, manager)
    type(segment).objects.filter(pk=segment.pk).update(member_count=99)

    services.recount_members([segment.pk])

    segment.refresh_from_db()
    assert segment.member_count == 2


@pytest.mark.parametrize("added_how", [AddedHow.RULE, AddedHow.MANUAL])
def test_sync_never_touches_other_segments(cast, make_segment, manager, added_how):
    other = make_segment("Other")
    SegmentMember.objects.create(
        segment=other, contact=cast["Bob"], added_how=added_how, added_at=cast["Bob"].created_at
    )
    segment = make_segment(criteria=all_of(US))

    sync_segment(segment, manager)

    assert members(other) == {"Bob": added_how}


def test_a_busy_sqlite_database_means_sync_in_progress(
    cast, make_segment, manager, monkeypatch, is_postgres
):
    # SQLite's IMMEDIATE transaction gives up after busy_timeout with "database is locked".
    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(sync, "_take_sync_lock", locked)
    segment = make_segment(criteria=all_of(US))

    if is_postgres:
        assert sync_segment(segment, manager).outcome == SyncOutcome.FAILED
    else:
        with pytest.raises(SyncInProgress):
            sync_segment(segment, manager)
        assert not SyncRun.objects.exists()


def test_matched_counts_every_matching_contact_whatever_was_done_by_hand(
    cast, make_segment, manager
):
    # given: a match removed by hand, a match added by hand before any sync, and a
    # non-matching contact added by hand (kept: it still matches a top-level condition)
    segment = make_segment(criteria={"match": "any", "conditions": [US, HIGH_SCORE]})
    matching = Contact.objects.filter(country="US") | Contact.objects.filter(lead_score__gt=70)
    assert matching.count() >= 2
    first, second = matching.order_by("pk")[:2]
    services.add_member(segment, first, manager)
    sync_segment(segment, manager)
    services.remove_member(segment, second, manager)

    # when
    run = sync_segment(segment, manager)

    # then: the removed and the hand-added matches are counted, as a full count would
    assert run.matched == matching.distinct().count()
    assert run.members_after == SegmentMember.objects.filter(segment=segment).count()
