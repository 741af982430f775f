from decimal import Decimal

import pytest

from contacts.models import Contact
from deals.models import Deal
from leads.models import Lead
from tags.models import ContactTag, Tag
from tags.services import create_tag
from transfers.services import (
    ALL_OR_NOTHING,
    UPDATE,
    import_csv,
    plan_import,
    propose_mapping,
    read_csv,
    run_import,
)
from transfers.tests.conftest import csv_bytes


def _errors(plan) -> set[tuple[int, str]]:
    return {(error.row, error.column) for error in plan.errors}


def test_dry_run_reports_counts_and_errors_and_writes_nothing(real_world_csv, admin_user):
    # when
    plan = import_csv("contacts", real_world_csv, user=admin_user, dry_run=True)

    # then
    assert plan.summary() == "3 new, 0 updated, 0 skipped, 4 errors (dry run)"
    assert _errors(plan) == {(4, "E-Mail"), (5, "Country"), (6, "Score"), (7, "Owner")}
    reasons = {error.row: error.reason for error in plan.errors}
    assert "valid email" in reasons[4]
    assert "Atlantis" in reasons[5]
    assert "less than or equal to 100" in reasons[6]
    assert "ghost" in reasons[7]
    assert sorted(plan.tags_to_create) == ["hot-lead", "saas", "vip"]
    assert not Contact.objects.exists()
    assert not Tag.objects.exists()


def test_import_writes_valid_rows_with_tags_and_exact_counters(real_world_csv, admin_user):
    plan = import_csv("contacts", real_world_csv, user=admin_user, dry_run=False)

    assert plan.summary() == "3 new, 0 updated, 0 skipped, 4 errors"
    grace = Contact.objects.get(email="grace@navy.example")
    assert (grace.first_name, grace.company, grace.country.code) == ("Grace", "US Navy", "US")
    assert grace.lead_score == 90 and grace.owner == admin_user
    assert Contact.objects.get(email="alan@bletchley.example").country.code == "GB"
    edith = Contact.objects.get(email="edith@chanson.example")
    assert edith.first_name == "Édith" and edith.lead_score == 0
    assert set(grace.tags.values_list("name", flat=True)) == {"saas", "hot-lead"}
    counts = dict(Tag.objects.values_list("name", "contacts_count"))
    assert counts == {"saas": 2, "hot-lead": 1, "vip": 1}
    assert ContactTag.objects.count() == 4


def test_all_or_nothing_imports_nothing_when_a_row_is_bad(real_world_csv, admin_user):
    plan = import_csv(
        "contacts", real_world_csv, user=admin_user, mode=ALL_OR_NOTHING, dry_run=False
    )

    assert not plan.imported
    assert not Contact.objects.exists()
    assert not Tag.objects.exists()


def test_all_or_nothing_imports_a_clean_file(admin_user):
    data = csv_bytes([["email", "tags"], ["a@x.example", "t1"], ["b@x.example", ""]])

    plan = import_csv("contacts", data, user=admin_user, mode=ALL_OR_NOTHING, dry_run=False)

    assert plan.imported and Contact.objects.count() == 2


def test_duplicates_by_email_ignore_case_and_are_skipped(contact, admin_user):
    data = csv_bytes([["email", "company"], ["ADA@Analytical.example", "New Co"]])

    plan = import_csv("contacts", data, user=admin_user, dry_run=False)

    assert plan.summary() == "0 new, 0 updated, 1 skipped, 0 errors"
    contact.refresh_from_db()
    assert contact.company == "Analytical Engines"


def test_duplicates_are_updated_when_asked_and_empty_cells_keep_values(contact, admin_user):
    tag = create_tag("existing")
    data = csv_bytes(
        [["email", "company", "city", "tags"], ["ADA@Analytical.example", "New Co", "", "existing"]]
    )
    contact.city = "London"
    contact.save()

    plan = import_csv("contacts", data, user=admin_user, on_duplicate=UPDATE, dry_run=False)

    assert plan.summary() == "0 new, 1 updated, 0 skipped, 0 errors"
    contact.refresh_from_db()
    assert (contact.company, contact.city, contact.first_name) == ("New Co", "London", "Ada")
    assert list(contact.tags.all()) == [tag]
    tag.refresh_from_db()
    assert tag.contacts_count == 1

    # importing the same tag again keeps the counter exact
    import_csv("contacts", data, user=admin_user, on_duplicate=UPDATE, dry_run=False)
    tag.refresh_from_db()
    assert tag.contacts_count == 1


def test_repeated_email_in_the_file_is_an_error(admin_user):
    data = csv_bytes([["email"], ["a@x.example"], ["A@X.example"]])

    plan = import_csv("contacts", data, user=admin_user, dry_run=True)

    assert plan.summary() == "1 new, 0 updated, 0 skipped, 1 errors (dry run)"
    assert "row 2" in plan.errors[0].reason


def test_a_contact_needs_a_name_or_an_email(admin_user):
    plan = import_csv("contacts", csv_bytes([["company"], ["Acme"]]), user=admin_user)

    assert plan.errors[0].reason == "Give the contact at least a name or an email."


def test_missing_tags_are_an_error_for_users_who_may_not_manage_tags(rep):
    create_tag("known")
    data = csv_bytes(
        [["email", "tags"], ["a@x.example", "known; unknown"], ["b@x.example", "known"]]
    )

    plan = import_csv("contacts", data, user=rep, dry_run=False)

    assert plan.summary() == "1 new, 0 updated, 0 skipped, 1 errors"
    assert plan.errors[0].column == "tags" and "may not create tags" in plan.errors[0].reason
    assert list(Tag.objects.values_list("name", "contacts_count")) == [("known", 1)]


def test_choice_labels_and_values_are_accepted(admin_user):
    data = csv_bytes(
        [["name", "status", "source", "score"], ["Lead A", "Qualified", "social media", "50"]]
    )

    import_csv("leads", data, user=admin_user, dry_run=False)

    lead = Lead.objects.get()
    assert (lead.status, lead.source, lead.score) == ("qualified", "social", 50)


def test_unknown_choice_is_an_error(admin_user):
    data = csv_bytes([["name", "status"], ["Lead A", "sleeping"]])

    plan = import_csv("leads", data, user=admin_user)

    assert plan.errors[0].column == "status"


def test_leads_need_a_name(admin_user):
    plan = import_csv("leads", csv_bytes([["name", "email"], ["", "a@x.example"]]), user=admin_user)

    assert (plan.errors[0].column, plan.errors[0].reason) == ("name", "This field is required.")


def test_deals_import_with_closed_stage_currency_and_dates(admin_user):
    data = csv_bytes(
        [
            ["Deal Name", "Amount", "Currency", "Stage", "Close date", "tags"],
            ["Big", "1200.50", "eur", "won", "2026-12-31", "q4"],
            ["Bad currency", "10", "XXQ", "proposal", "", ""],
            ["Negative", "-5", "USD", "proposal", "", ""],
            ["Bad date", "5", "USD", "proposal", "31/12/2026", ""],
        ]
    )

    plan = import_csv("deals", data, user=admin_user, dry_run=False)

    assert plan.summary() == "1 new, 0 updated, 0 skipped, 3 errors"
    deal = Deal.objects.get()
    assert (deal.value, deal.currency, deal.stage) == (Decimal("1200.50"), "EUR", "won")
    assert deal.closed_at is not None
    assert Tag.objects.get(name="q4").deals_count == 1


def test_user_mapping_overrides_the_proposal_and_unmapped_columns_are_ignored(admin_user):
    parsed = read_csv(csv_bytes([["Name", "Mail", "Secret"], ["Ada", "a@x.example", "pw"]]))
    mapping = propose_mapping("contacts", parsed.header)
    assert mapping == ["", "email", ""]

    plan = plan_import("contacts", parsed, ["first_name", "email", ""], user=admin_user)
    run_import(plan, user=admin_user)

    assert Contact.objects.get().first_name == "Ada"


@pytest.mark.parametrize("mapping", [["email", "email"], ["", ""], ["email", "password"]])
def test_bad_mappings_are_refused(admin_user, mapping):
    from transfers.services import ImportFileError

    parsed = read_csv(csv_bytes([["a", "b"], ["x@x.example", "y"]]))
    with pytest.raises(ImportFileError):
        plan_import("contacts", parsed, mapping, user=admin_user)


def test_an_email_taken_after_the_plan_rolls_the_whole_import_back(admin_user):
    from django.db import IntegrityError

    parsed = read_csv(csv_bytes([["email", "tags"], ["a@x.example", "t"], ["b@x.example", "t"]]))
    plan = plan_import("contacts", parsed, ["email", "tags"], user=admin_user)
    Contact.objects.create(email="B@x.example")

    with pytest.raises(IntegrityError):
        run_import(plan, user=admin_user)

    assert list(Contact.objects.values_list("email", flat=True)) == ["B@x.example"]
    assert not Tag.objects.exists()
