"""core.paging and core.counting: one page of rows, and counts that stay cheap."""

import pytest

from django.db import connection
from django.test import override_settings

from contacts.models import Contact
from core import counting
from core.counting import estimated_count
from core.paging import capped_count, fetch_page, positive_int


def make_contacts(count: int) -> None:
    Contact.objects.bulk_create(Contact(first_name=f"P{n:03}") for n in range(count))


def contacts():
    return Contact.objects.order_by("first_name")


# --- capped_count --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "cap", "expected"),
    [(0, 10, (0, True)), (7, 10, (7, True)), (10, 10, (10, True)), (11, 10, (10, False))],
)
def test_capped_count(db, rows, cap, expected):
    make_contacts(rows)
    assert capped_count(contacts(), cap=cap) == expected


@override_settings(COHORT_COUNT_CAP=10)
def test_capped_count_defaults_to_the_setting(db):
    make_contacts(25)
    assert capped_count(contacts()) == (10, False)


def test_capped_count_counts_the_filtered_rows(db):
    make_contacts(12)
    assert capped_count(Contact.objects.filter(first_name__lt="P005"), cap=10) == (5, True)


# --- fetch_page ----------------------------------------------------------------------------


def test_first_page_of_several(db):
    make_contacts(7)
    page = fetch_page(contacts(), 1, 3)
    assert [c.first_name for c in page.rows] == ["P000", "P001", "P002"]
    assert page.has_next
    assert not page.has_previous
    assert (page.count, page.count_is_exact) == (7, True)
    assert (page.first_index, page.last_index) == (1, 3)


def test_middle_page(db):
    make_contacts(7)
    page = fetch_page(contacts(), 2, 3)
    assert [c.first_name for c in page.rows] == ["P003", "P004", "P005"]
    assert page.has_next
    assert page.has_previous
    assert (page.first_index, page.last_index) == (4, 6)


def test_last_page_counts_without_a_count_query(db, django_assert_num_queries):
    make_contacts(7)
    with django_assert_num_queries(1):
        page = fetch_page(contacts(), 3, 3)
    assert [c.first_name for c in page.rows] == ["P006"]
    assert not page.has_next
    assert (page.count, page.count_is_exact) == (7, True)
    assert (page.first_index, page.last_index) == (7, 7)


def test_page_that_exactly_fills_has_no_next(db):
    make_contacts(6)
    page = fetch_page(contacts(), 2, 3)
    assert len(page.rows) == 3
    assert not page.has_next
    assert page.count == 6


def test_empty_table(db):
    page = fetch_page(contacts(), 1, 3)
    assert page.rows == []
    assert not page.has_next
    assert not page.has_previous
    assert (page.count, page.count_is_exact) == (0, True)
    assert (page.first_index, page.last_index) == (0, 0)


def test_page_past_the_end_is_empty_but_knows_the_count(db):
    make_contacts(7)
    page = fetch_page(contacts(), 5, 3)
    assert page.rows == []
    assert not page.has_next
    assert page.has_previous
    assert (page.count, page.count_is_exact) == (7, True)
    assert page.first_index == 0


@override_settings(COHORT_COUNT_CAP=10)
def test_count_is_capped_when_there_are_more_pages(db):
    make_contacts(25)
    page = fetch_page(contacts(), 1, 3)
    assert page.has_next
    assert (page.count, page.count_is_exact) == (10, False)


@override_settings(COHORT_COUNT_CAP=10)
def test_last_page_beyond_the_cap_is_exact(db):
    make_contacts(25)
    page = fetch_page(contacts(), 9, 3)
    assert [c.first_name for c in page.rows] == ["P024"]
    assert (page.count, page.count_is_exact) == (25, True)


# --- positive_int --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "maximum", "expected"),
    [
        (None, None, 1),
        ("", None, 1),
        ("abc", None, 1),
        ("2.5", None, 1),
        ("0", None, 1),
        ("-4", None, 1),
        ("3", None, 3),
        ("500", 100, 100),
        ("50", 100, 50),
    ],
)
def test_positive_int(raw, maximum, expected):
    assert positive_int(raw, 1, maximum) == expected


# --- estimated_count -----------------------------------------------------------------------


@pytest.mark.parametrize("rows", [0, 1, 12])
def test_estimated_count_is_exact_on_small_tables(db, rows):
    make_contacts(rows)
    assert estimated_count(Contact.objects.all()) == rows


def test_estimated_count_of_a_filtered_queryset_is_exact(db):
    make_contacts(12)
    assert estimated_count(Contact.objects.filter(first_name__gte="P010")) == 2


def test_estimated_count_counts_fully_past_the_cap(db, monkeypatch):
    monkeypatch.setattr(counting, "ESTIMATE_ABOVE", 3)
    make_contacts(8)
    assert estimated_count(Contact.objects.filter(first_name__startswith="P")) == 8


@pytest.mark.skipif(connection.vendor != "postgresql", reason="planner statistics are PostgreSQL's")
def test_estimated_count_uses_postgres_statistics_for_big_unfiltered_tables(db, monkeypatch):
    make_contacts(8)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
    make_contacts(2)  # not yet in the statistics
    monkeypatch.setattr(counting, "ESTIMATE_ABOVE", 5)
    assert estimated_count(Contact.objects.all()) == 8
    assert estimated_count(Contact.objects.filter(first_name__startswith="P")) == 10
