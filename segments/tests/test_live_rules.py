"""The rules of a sync hold in live mode: manual additions kept or dropped by the top-level
conditions, removals that last, segments that test other segments, exact counts."""

import pytest

from django.core.exceptions import ValidationError

from contacts.models import Contact
from segments import services
from segments.live import dependency_order, live_segments_in_order, update_live_segments
from segments.models import Segment, SegmentRemoval
from segments.sync import sync_segment
from segments.tests.live_world import (
    US,
    all_of,
    assert_exact,
    changes,
    contact,
    make_live,
    members,
    names,
    one,
)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


@pytest.fixture
def american_vips(cast, committed):
    """Live: in the US and tagged vip (Ann and Dee); a manual addition stays while it
    meets one of the two."""
    return make_live(
        committed, "American VIPs", all_of(US, one("tags", "has", cast.tags["vip"].pk))
    )


def set_country(person: Contact, country: str) -> None:
    """A change the live update is then told about, as a service would."""
    Contact.objects.filter(pk=person.pk).update(country=country)
    update_live_segments([person.pk])


def test_a_manual_addition_stays_while_it_meets_a_top_level_condition(
    cast, american_vips, committed, manager
):
    eve = contact("Eve", country="US")  # meets "in the US", not "tagged vip"
    with committed(execute=True):
        assert services.add_member(american_vips, eve, manager)
    assert members(american_vips) == {"Ann": "rule", "Dee": "rule", "Eve": "manual"}

    set_country(eve, "CA")  # now she meets neither condition: she leaves

    assert members(american_vips) == {"Ann": "rule", "Dee": "rule"}
    assert changes(american_vips)[-2:] == [("Eve", "joined", "manual"), ("Eve", "left", "live")]
    assert_exact(american_vips)


def test_a_manual_addition_that_comes_to_match_fully_stays_manual(
    cast, american_vips, committed, manager
):
    eve = contact("Eve", country="US")
    with committed(execute=True):
        services.add_member(american_vips, eve, manager)

    with committed(execute=True):
        from tags import services as tags

        tags.attach_tag(eve, cast.tags["vip"])

    assert members(american_vips)["Eve"] == "manual"
    assert_exact(american_vips)


def test_a_live_segment_refuses_a_manual_addition_it_would_drop_at_once(
    cast, american_vips, manager
):
    # Bob is in GB and not a vip: he meets none of the conditions.
    with pytest.raises(ValidationError) as refused:
        services.add_member(american_vips, cast["Bob"], manager)

    message = refused.value.message_dict["contact_id"][0]
    assert "Bob" in message and "meets none of the conditions" in message
    assert "Bob" not in names(american_vips)
    american_vips.refresh_from_db()
    assert american_vips.member_count == 2


def test_a_manual_segment_still_takes_any_manual_addition(cast, manager):
    segment = services.create_segment(name="Americans", criteria=all_of(US), user=manager)
    assert services.add_member(segment, cast["Bob"], manager)


def test_a_live_segment_without_conditions_is_a_hand_made_list(cast, committed, manager):
    hand_made = make_live(committed, "Hand made", {"match": "all", "conditions": []})
    with committed(execute=True):
        services.add_member(hand_made, cast["Bob"], manager)
    update_live_segments([c.pk for c in Contact.objects.all()])
    assert members(hand_made) == {"Bob": "manual"}
    assert_exact(hand_made)


def test_a_removal_lasts_through_live_updates_until_added_again(cast, american_vips, manager):
    services.remove_member(american_vips, cast["Dee"], manager)

    update_live_segments([cast["Dee"].pk])

    assert "Dee" not in names(american_vips)
    assert SegmentRemoval.objects.filter(segment=american_vips, contact=cast["Dee"]).exists()
    assert_exact(american_vips)


def test_only_the_given_contacts_are_re_evaluated(cast, american_vips):
    # Both stop being American, but only Ann is said to have changed.
    Contact.objects.filter(first_name__in=["Ann", "Dee"]).update(country="GB")

    result = update_live_segments([cast["Ann"].pk])

    assert names(american_vips) == {"Dee"}
    assert (result.contacts, result.segments, result.joined, result.left) == (1, 1, 0, 1)


def test_member_count_moves_by_exactly_what_joined_and_left(cast, american_vips):
    people = [contact(f"P{i}", country="US") for i in range(5)]
    from tags.models import ContactTag

    ContactTag.objects.bulk_create([ContactTag(record=p, tag=cast.tags["vip"]) for p in people])
    Contact.objects.filter(first_name="Ann").update(country="GB")

    result = update_live_segments([p.pk for p in people] + [cast["Ann"].pk, cast["Dee"].pk])

    assert (result.joined, result.left) == (5, 1)
    american_vips.refresh_from_db()
    assert american_vips.member_count == 6
    assert_exact(american_vips)


def test_a_second_run_changes_nothing(cast, american_vips):
    Contact.objects.filter(first_name="Bob").update(country="US")
    ids = list(Contact.objects.values_list("pk", flat=True))

    update_live_segments(ids)
    again = update_live_segments(ids)

    assert (again.joined, again.left) == (0, 0)


def test_batches_cover_every_contact(cast, american_vips, monkeypatch):
    monkeypatch.setattr("segments.live.BATCH_SIZE", 2)
    people = [contact(f"P{i}", country="US") for i in range(5)]
    from tags.models import ContactTag

    ContactTag.objects.bulk_create([ContactTag(record=p, tag=cast.tags["vip"]) for p in people])

    result = update_live_segments([p.pk for p in people])

    assert result.joined == 5
    assert_exact(american_vips)


def test_a_segment_that_tests_another_follows_it_in_the_same_update(cast, committed, manager):
    # given B (made first, so with the lower id) testing membership of A
    vip = cast.tags["vip"]
    b = make_live(committed, "B", all_of(US))
    a = make_live(committed, "A", all_of(one("tags", "has", vip.pk)))
    with committed(execute=True):
        services.update_segment(
            b, user=manager, criteria=all_of(US, one("segment", "in_segment", a.pk))
        )
    assert live_segments_in_order() == [a.pk, b.pk]
    assert names(b) == {"Ann", "Dee"}

    # when an American gets the tag
    eve = contact("Eve", country="US")
    from tags.models import ContactTag

    ContactTag.objects.create(record=eve, tag=vip)
    update_live_segments([eve.pk])

    # then one update puts her in A, and so in B
    assert "Eve" in names(a) and "Eve" in names(b)
    assert_exact(b)


def test_a_sync_of_a_segment_is_followed_by_the_live_segments_that_test_it(
    cast, committed, manager
):
    britons = services.create_segment(
        name="Britons", criteria=all_of(one("country", "equals", "GB")), user=manager
    )
    in_britons = make_live(
        committed, "In Britons", all_of(one("segment", "in_segment", britons.pk))
    )
    assert names(in_britons) == set()

    with committed(execute=True):
        run = sync_segment(britons, manager)

    assert run.added == 1
    assert names(in_britons) == {"Bob"}
    assert changes(in_britons) == [("Bob", "joined", "live")]


def test_a_manual_change_of_a_segment_is_followed_by_those_that_test_it(cast, committed, manager):
    picked = services.create_segment(name="Picked", user=manager)
    in_picked = make_live(committed, "In picked", all_of(one("segment", "in_segment", picked.pk)))

    with committed(execute=True):
        services.add_member(picked, cast["Cy"], manager)
    assert names(in_picked) == {"Cy"}

    with committed(execute=True):
        services.remove_member(picked, cast["Cy"], manager)
    assert names(in_picked) == set()


def test_a_segment_made_manual_stops_following(cast, american_vips, committed, manager):
    with committed(execute=True):
        services.update_segment(american_vips, user=manager, mode="manual")
    Contact.objects.filter(first_name="Ann").update(country="GB")

    result = update_live_segments([cast["Ann"].pk])

    assert result.segments == 0
    assert "Ann" in names(american_vips)


def test_new_criteria_of_a_live_segment_apply_at_once(cast, american_vips, committed, manager):
    with committed(execute=True):
        services.update_segment(american_vips, user=manager, criteria=all_of(US))

    assert names(american_vips) == {"Ann", "Dee"}
    with committed(execute=True):
        services.update_segment(
            american_vips, user=manager, criteria=all_of(one("country", "equals", "GB"))
        )
    assert names(american_vips) == {"Bob"}
    assert_exact(american_vips)


@pytest.mark.parametrize(
    ("ids", "edges", "order"),
    [
        ([3, 1, 2], [], [1, 2, 3]),
        ([1, 2, 3], [(1, 3), (2, 1)], [3, 1, 2]),  # 1 uses 3, 2 uses 1
        ([1, 2, 3], [(1, 9)], [1, 2, 3]),  # a segment outside the set does not count
        ([1, 2], [(1, 2), (2, 1)], [1, 2]),  # a cycle (refused by validation) still ends
    ],
)
def test_dependency_order(ids, edges, order):
    assert dependency_order(ids, edges) == order


@pytest.mark.parametrize(
    "bad",
    [["1"], [0], [-3], [True], [1.5], "12", None, {"a": 1}],
    ids=["text", "zero", "negative", "bool", "float", "string", "none", "dict"],
)
def test_ids_are_validated_with_a_clear_message(db, bad):
    with pytest.raises(ValueError, match=r"^contact_ids: "):
        update_live_segments(bad)


def test_no_ids_or_no_live_segment_is_no_work(cast, django_assert_num_queries):
    assert update_live_segments([]).segments == 0
    Segment.objects.update(mode="manual")
    with django_assert_num_queries(1):  # which segments are live: none
        result = update_live_segments([cast["Ann"].pk])
    assert result.segments == 0
