"""Every audited action writes exactly one entry, with actor, target and details
(through the services here; test_through_pages_and_api.py takes the UI and API paths)."""

import json

import pytest

from django.core.management import call_command

from accounts.tokens import issue_token, revoke_token
from audit.choices import Action, TargetType
from contacts.models import Contact
from segments import services as segment_services
from segments.choices import SyncOutcome
from segments.sync import sync_segment
from tags import services as tag_services
from tags.models import Tag
from tags.records import TAGGABLE_TYPES
from transfers.services import import_csv

CONTACTS = TAGGABLE_TYPES["contacts"]


def only(entries):
    assert len(entries) == 1, [(e.action, e.target_name) for e in entries]
    return entries[0]


def assert_about(entry, action, actor, target_type, target_id, target_name):
    assert entry.action == action
    assert entry.actor == actor
    assert entry.actor_name == (actor.username if actor else "")
    assert (entry.target_type, entry.target_id, entry.target_name) == (
        target_type,
        target_id,
        target_name,
    )


# --- tags -------------------------------------------------------------------------------------


def test_creating_a_tag(recorded, admin_user):
    entry = only(recorded(lambda: tag_services.create_tag("VIP", color="#dc2626", user=admin_user)))

    tag = Tag.objects.get(name="VIP")
    assert_about(entry, Action.TAG_CREATED, admin_user, TargetType.TAG, tag.pk, "VIP")
    assert entry.details == {"name": "VIP", "color": "#dc2626", "description": ""}
    assert entry.summary == "Colour #dc2626"


def test_editing_a_tag_records_before_and_after_of_what_changed(recorded, tag, admin_user):
    entry = only(
        recorded(
            lambda: tag_services.update_tag(
                tag, name="Key account", color="#16a34a", user=admin_user
            )
        )
    )

    assert_about(entry, Action.TAG_UPDATED, admin_user, TargetType.TAG, tag.pk, "Key account")
    assert entry.details == {
        "changes": {
            "name": {"before": "Enterprise", "after": "Key account"},
            "color": {"before": "#2563eb", "after": "#16a34a"},
        }
    }
    assert entry.summary == ("name “Enterprise” → “Key account”; colour “#2563eb” → “#16a34a”")


def test_saving_a_tag_unchanged_records_nothing(recorded, tag, admin_user):
    entries = recorded(
        lambda: tag_services.update_tag(
            tag, name=" Enterprise ", color="#2563eb", description="", user=admin_user
        )
    )

    assert entries == []


def test_merging_records_the_links_moved_on_the_surviving_tag(recorded, tag, admin_user):
    # given two contacts with the source tag, one of which already has the target
    source = tag_services.create_tag("Enterprize", user=admin_user)
    both, only_source = (Contact.objects.create(first_name=n) for n in ("Both", "Source"))
    for contact in (both, only_source):
        tag_services.attach_tag(contact, source)
    tag_services.attach_tag(both, tag)
    source_id = source.pk

    entry = only(recorded(lambda: tag_services.merge_tags(source, tag, user=admin_user)))

    assert_about(entry, Action.TAG_MERGED, admin_user, TargetType.TAG, tag.pk, "Enterprise")
    assert entry.details == {
        "source": {"id": source_id, "name": "Enterprize"},
        "target": {"id": tag.pk, "name": "Enterprise"},
        "links_moved": {"contacts": 1, "leads": 0, "deals": 0},
        "links_already_on_target": {"contacts": 1, "leads": 0, "deals": 0},
    }
    assert entry.summary == "“Enterprize” merged into “Enterprise”: 1 link moved, 1 already there"


def test_merging_a_tag_deleted_meanwhile_is_refused_and_not_recorded(recorded, tag, admin_user):
    source = tag_services.create_tag("Gone", user=admin_user)
    Tag.objects.filter(pk=source.pk).delete()  # by someone else, after this request loaded it

    def merge():
        with pytest.raises(tag_services.TagError, match="no longer exists"):
            tag_services.merge_tags(source, tag, user=admin_user)

    assert recorded(merge) == []


def test_deleting_a_tag_keeps_its_name_and_how_many_records_lost_it(
    recorded, tag, contact, admin_user
):
    tag_services.attach_tag(contact, tag)
    tag_id = tag.pk

    entry = only(recorded(lambda: tag_services.delete_tag(tag, user=admin_user)))

    assert_about(entry, Action.TAG_DELETED, admin_user, TargetType.TAG, tag_id, "Enterprise")
    assert entry.details == {
        "name": "Enterprise",
        "color": "#2563eb",
        "records": 1,
        "contacts": 1,
        "leads": 0,
        "deals": 0,
    }


def test_bulk_tagging_records_one_entry_per_tag_that_changed_records(recorded, tag, admin_user):
    # given three contacts, one of which already has the first tag
    contacts = [Contact.objects.create(first_name=f"C{i}") for i in range(3)]
    tag_services.attach_tag(contacts[0], tag)
    other = tag_services.create_tag("Other", user=admin_user)
    everyone = Contact.objects.filter(pk__in=[c.pk for c in contacts])

    added = recorded(
        lambda: tag_services.bulk_tag(CONTACTS, everyone, add=[tag, other], user=admin_user)
    )
    removed = recorded(
        lambda: tag_services.bulk_tag(
            CONTACTS, everyone.filter(pk=contacts[0].pk), remove=[other], user=admin_user
        )
    )
    unchanged = recorded(
        lambda: tag_services.bulk_tag(CONTACTS, everyone, add=[tag], user=admin_user)
    )

    assert [(e.action, e.target_id, e.details) for e in added] == [
        (Action.TAG_BULK_ADDED, tag.pk, {"record_type": "contacts", "records": 2}),
        (Action.TAG_BULK_ADDED, other.pk, {"record_type": "contacts", "records": 3}),
    ]
    assert added[0].summary == "Added to 2 contacts"
    entry = only(removed)
    assert_about(entry, Action.TAG_BULK_REMOVED, admin_user, TargetType.TAG, other.pk, "Other")
    assert entry.details == {"record_type": "contacts", "records": 1}
    assert unchanged == []


def test_an_import_records_created_tags_and_one_bulk_entry_per_tag(recorded, admin_user):
    rows = ["first_name,email,tags"] + [f"P{i},p{i}@x.example,newtag" for i in range(3)]
    data = ("\r\n".join(rows) + "\r\n").encode()

    entries = recorded(lambda: import_csv("contacts", data, user=admin_user, dry_run=False))

    tag = Tag.objects.get(name="newtag")
    assert [(e.action, e.actor, e.target_id) for e in entries] == [
        (Action.TAG_CREATED, admin_user, tag.pk),
        (Action.TAG_BULK_ADDED, admin_user, tag.pk),
    ]
    assert entries[1].details == {"record_type": "contacts", "records": 3, "via": "import"}
    assert entries[1].summary == "Added to 3 contacts by a CSV import"


# --- segments ---------------------------------------------------------------------------------


def test_creating_a_segment(recorded, admin_user):
    criteria = {
        "match": "all",
        "conditions": [{"field": "country", "operator": "equals", "value": "US"}],
    }

    entry = only(
        recorded(
            lambda: segment_services.create_segment(
                name="US", description="Americans", criteria=criteria, user=admin_user
            )
        )
    )

    segment_id = entry.target_id
    assert_about(entry, Action.SEGMENT_CREATED, admin_user, TargetType.SEGMENT, segment_id, "US")
    assert entry.details["criteria"] == criteria
    assert entry.details["description"] == "Americans"
    assert entry.summary == "1 top-level condition"


def test_editing_a_segment_records_only_the_fields_that_changed(recorded, segment, admin_user):
    entry = only(
        recorded(
            lambda: segment_services.update_segment(
                segment, user=admin_user, name="British contacts", description="", criteria=None
            )
        )
    )

    assert_about(
        entry,
        Action.SEGMENT_UPDATED,
        admin_user,
        TargetType.SEGMENT,
        segment.pk,
        "British contacts",
    )
    assert entry.details == {
        "changes": {"name": {"before": "UK contacts", "after": "British contacts"}}
    }


def test_saving_a_segment_unchanged_records_nothing(recorded, segment, admin_user):
    entries = recorded(
        lambda: segment_services.update_segment(
            segment,
            user=admin_user,
            name=segment.name,
            description=segment.description,
            criteria=segment.criteria,
        )
    )

    assert entries == []


def test_deleting_a_segment(recorded, segment, admin_user):
    segment_id = segment.pk

    entry = only(recorded(lambda: segment_services.delete_segment(segment, admin_user)))

    assert_about(
        entry, Action.SEGMENT_DELETED, admin_user, TargetType.SEGMENT, segment_id, "UK contacts"
    )
    assert entry.details["members"] == 0
    assert entry.details["name"] == "UK contacts"


def test_a_sync_records_who_synced_and_the_counts(recorded, segment, contact, admin_user):
    entry = only(recorded(lambda: sync_segment(segment, admin_user)))

    run = segment.last_run
    assert_about(
        entry, Action.SEGMENT_SYNCED, admin_user, TargetType.SEGMENT, segment.pk, "UK contacts"
    )
    assert entry.details == {"run_id": run.pk, "matched": 1, "added": 1, "removed": 0, "total": 1}
    assert entry.summary == "+1 added, −0 removed, 1 member"


def test_a_failed_sync_records_the_failure_and_no_sync(recorded, segment, admin_user, monkeypatch):
    # given a sync whose membership statements fail
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("segments.sync._replace_membership", broken)

    entry = only(recorded(lambda: sync_segment(segment, admin_user)))

    assert segment.last_run.outcome == SyncOutcome.FAILED
    assert_about(
        entry, Action.SEGMENT_SYNC_FAILED, admin_user, TargetType.SEGMENT, segment.pk, "UK contacts"
    )
    assert entry.details == {"run_id": segment.last_run.pk, "error": "RuntimeError: disk on fire"}


def test_adding_and_removing_members_by_hand(recorded, segment, admin_user):
    grace = Contact.objects.create(first_name="Grace", last_name="Hopper")

    added = only(recorded(lambda: segment_services.add_member(segment, grace, admin_user)))
    again = recorded(lambda: segment_services.add_member(segment, grace, admin_user))
    removed = only(recorded(lambda: segment_services.remove_member(segment, grace, admin_user)))
    not_a_member = recorded(lambda: segment_services.remove_member(segment, grace, admin_user))

    expected = {"contact_id": grace.pk, "contact_name": "Grace Hopper"}
    assert_about(
        added,
        Action.SEGMENT_MEMBER_ADDED,
        admin_user,
        TargetType.SEGMENT,
        segment.pk,
        "UK contacts",
    )
    assert added.details == expected
    assert_about(
        removed,
        Action.SEGMENT_MEMBER_REMOVED,
        admin_user,
        TargetType.SEGMENT,
        segment.pk,
        "UK contacts",
    )
    assert removed.details == expected
    assert added.summary == "Grace Hopper"
    assert again == not_a_member == []


# --- tokens -----------------------------------------------------------------------------------


def test_issuing_and_revoking_a_token_never_records_the_token(recorded, manager, admin_user):
    issued = []

    created = only(recorded(lambda: issued.append(issue_token(manager, "Zapier", actor=manager))))
    token = issued[0].token
    revoked = only(recorded(lambda: revoke_token(token, actor=admin_user)))
    twice = recorded(lambda: revoke_token(token, actor=admin_user))

    assert_about(created, Action.TOKEN_CREATED, manager, TargetType.TOKEN, token.pk, "Zapier")
    assert_about(revoked, Action.TOKEN_REVOKED, admin_user, TargetType.TOKEN, token.pk, "Zapier")
    expected = {"name": "Zapier", "prefix": token.prefix, "owner": "manager", "expires_at": None}
    assert created.details == revoked.details == expected
    assert twice == []
    stored = json.dumps([created.details, revoked.details])
    secret = issued[0].plain.split("_", 2)[2]
    assert issued[0].plain not in stored
    assert secret not in stored
    assert token.digest not in stored


def test_a_token_from_the_command_line_is_recorded_as_the_systems(recorded, manager, capsys):
    entry = only(recorded(lambda: call_command("create_api_token", "manager", name="cron")))

    plain = capsys.readouterr().out.strip()
    assert entry.action == Action.TOKEN_CREATED
    assert entry.actor is None
    assert entry.who == "System"
    assert entry.details["owner"] == "manager"
    assert plain not in json.dumps(entry.details)


def test_an_entry_still_names_a_deleted_actor(recorded, make_user):
    user = make_user("leaver")
    entry = only(recorded(lambda: tag_services.create_tag("Temp", user=user)))

    user.delete()
    entry.refresh_from_db()

    assert entry.actor is None
    assert entry.who == "leaver"
