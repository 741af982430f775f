"""Tests for the demo data generator and the seed_demo / bootstrap_demo commands."""

from datetime import timedelta
from io import StringIO

import pytest

from django.core.management import call_command
from django.db.models import Count, F, Max, Min
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from accounts.roles import ADMINISTRATOR, SALES_MANAGER, SALES_REP
from activities.models import Activity
from contacts.models import Contact
from deals.choices import CLOSED_STAGES
from deals.models import Deal
from demo import load as demo_load
from demo.load import DEFAULT_SEED, seed_demo
from demo.vocabulary import SALES_TEAM
from leads.models import Lead

N = 200
SEED = DEFAULT_SEED  # the seed bootstrap_demo uses, so the name pools are built once


def _wipe_demo_rows() -> None:
    Activity.objects.all().delete()
    Deal.objects.all().delete()
    Lead.objects.all().delete()
    Contact.objects.all().delete()


def _contact_identities() -> list[tuple[str, str, str]]:
    return list(Contact.objects.order_by("id").values_list("first_name", "last_name", "email"))


@pytest.mark.django_db
def test_seed_makes_roughly_the_asked_volumes():
    result = seed_demo(contacts=N, seed=SEED)

    assert Contact.objects.count() == result.contacts == N
    assert 0.07 * N <= Lead.objects.count() == result.leads <= 0.13 * N
    assert 0.25 * N <= Deal.objects.count() == result.deals <= 0.35 * N
    assert 1.8 * N <= Activity.objects.count() == result.activities <= 2.2 * N
    assert Lead.objects.exclude(contact=None).exists()
    assert Activity.objects.exclude(deal=None).exists()
    assert Activity.objects.exclude(lead=None).exists()
    # Linked leads and deals belong to the activity's own contact.
    assert not Activity.objects.exclude(deal=None).exclude(deal__contact=F("contact")).exists()
    sales = User.objects.filter(groups__name__in=[SALES_REP, SALES_MANAGER]).distinct()
    assert sales.count() == len(SALES_TEAM)
    assert not any(user.has_usable_password() for user in sales)
    assert set(Contact.objects.values_list("owner", flat=True)) <= set(
        sales.values_list("pk", flat=True)
    )


@pytest.mark.django_db
def test_seed_keeps_chosen_timestamps_and_restores_auto_now_add():
    seed_demo(contacts=N, seed=SEED)

    now = timezone.now()
    span = Contact.objects.aggregate(oldest=Min("created_at"), newest=Max("created_at"))
    # bulk inserts would stamp everything "now" if the chosen created_at were dropped.
    assert now - timedelta(days=366) < span["oldest"] < now - timedelta(days=60)
    assert span["newest"] <= now
    assert Contact.objects.filter(created_at__lt=now - timedelta(days=60)).count() > N / 4
    assert not Activity.objects.exclude(created_at=F("occurred_at")).exists()
    assert not Deal.objects.filter(created_at__lt=F("contact__created_at")).exists()
    assert Contact._meta.get_field("created_at").auto_now_add
    assert Deal._meta.get_field("updated_at").auto_now


@pytest.mark.django_db
def test_emails_are_unique_case_insensitively_also_across_seeds():
    seed_demo(contacts=N, seed=SEED)
    seed_demo(contacts=N, seed=SEED)  # appends: same names, new running numbers

    emails = Contact.objects.annotate(address=Lower("email")).values("address")
    assert emails.count() == 2 * N
    assert emails.distinct().count() == 2 * N
    assert not Contact.objects.filter(email="").exists()


@pytest.mark.django_db
def test_same_seed_gives_same_contacts_on_an_empty_database():
    seed_demo(contacts=N, seed=SEED)
    first_run = _contact_identities()
    _wipe_demo_rows()
    seed_demo(contacts=N, seed=SEED)

    assert _contact_identities() == first_run
    _wipe_demo_rows()
    seed_demo(contacts=N, seed=SEED + 1)
    assert _contact_identities() != first_run


@pytest.mark.django_db
def test_last_activity_at_is_each_contacts_latest_activity():
    seed_demo(contacts=N, seed=SEED)

    rows = Contact.objects.annotate(latest=Max("activities__occurred_at")).values_list(
        "last_activity_at", "latest"
    )
    assert all(stored == latest for stored, latest in rows)
    assert sum(1 for stored, _ in rows if stored) > N / 2


@pytest.mark.django_db
def test_won_and_lost_deals_have_closed_at_and_open_ones_do_not():
    seed_demo(contacts=N, seed=SEED)

    by_stage = dict(Deal.objects.values_list("stage").annotate(n=Count("id")))
    assert by_stage.keys() >= CLOSED_STAGES
    assert not Deal.objects.filter(stage__in=CLOSED_STAGES, closed_at=None).exists()
    assert not Deal.objects.exclude(stage__in=CLOSED_STAGES).exclude(closed_at=None).exists()


@pytest.mark.django_db
def test_seed_demo_command_prints_a_summary():
    out = StringIO()
    call_command("seed_demo", contacts=30, seed=SEED, stdout=out)

    assert "Seeded 30 contacts" in out.getvalue()
    assert Contact.objects.count() == 30


@pytest.mark.django_db
def test_bootstrap_creates_admin_once_and_then_keeps_data(monkeypatch):
    monkeypatch.setenv("COHORT_ADMIN_PASSWORD", "demo-pass-from-env")
    monkeypatch.setenv("COHORT_DEMO_CONTACTS", "40")
    out = StringIO()
    call_command("bootstrap_demo", stdout=out)

    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("demo-pass-from-env")
    assert admin.groups.filter(name=ADMINISTRATOR).exists()
    assert Contact.objects.count() == 40
    assert "demo-pass-from-env" not in out.getvalue()
    counts = (User.objects.count(), Contact.objects.count(), Activity.objects.count())

    monkeypatch.setenv("COHORT_ADMIN_PASSWORD", "another-password")
    again = StringIO()
    call_command("bootstrap_demo", stdout=again)

    assert "keeping the existing data" in again.getvalue()
    assert (User.objects.count(), Contact.objects.count(), Activity.objects.count()) == counts
    admin.refresh_from_db()
    assert admin.check_password("demo-pass-from-env")


@pytest.mark.django_db
def test_bootstrap_prints_a_generated_password(monkeypatch):
    monkeypatch.delenv("COHORT_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("COHORT_DEMO_CONTACTS", "5")
    out = StringIO()
    call_command("bootstrap_demo", stdout=out)

    line = next(line for line in out.getvalue().splitlines() if "Admin password:" in line)
    password = line.split("Admin password:", 1)[1].strip()
    assert len(password) >= 12
    assert User.objects.get(username="admin").check_password(password)


@pytest.mark.django_db
def test_bootstrap_failure_leaves_nothing_behind(monkeypatch):
    def failing_seed(**kwargs):
        raise RuntimeError("seed failed")

    monkeypatch.setattr(demo_load, "seed_demo", failing_seed)
    monkeypatch.setenv("COHORT_DEMO_CONTACTS", "5")
    with pytest.raises(RuntimeError):
        call_command("bootstrap_demo", stdout=StringIO())

    assert not User.objects.filter(username="admin").exists()
