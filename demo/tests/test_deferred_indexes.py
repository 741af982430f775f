"""Seeding into empty tables sets indexes and foreign keys aside and rebuilds them."""

import pytest

from django.db import connection

from demo import load as demo_load
from demo.load import DEFAULT_SEED, LOADED_MODELS, seed_demo

TABLES = [model._meta.db_table for model in LOADED_MODELS]


def _schema() -> list[tuple]:
    """The tables' indexes and constraints as the catalogue describes them."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tablename, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
                "UNION ALL SELECT conrelid::regclass::text, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) ORDER BY 1, 2",
                [TABLES, TABLES],
            )
        else:
            placeholders = ", ".join(["%s"] * len(TABLES))
            cursor.execute(
                f"SELECT tbl_name, sql FROM sqlite_master WHERE tbl_name IN ({placeholders}) "
                f"ORDER BY 1, 2",
                TABLES,
            )
        return cursor.fetchall()


@pytest.mark.django_db
def test_a_seed_into_empty_tables_rebuilds_every_index_and_constraint():
    before = _schema()

    result = seed_demo(contacts=300, seed=DEFAULT_SEED)

    assert result.deferred_indexes
    assert _schema() == before
    assert set(result.timings) == {"rows", "indexes", "tag_links"}


@pytest.mark.django_db
def test_a_seed_into_a_non_empty_database_appends_through_the_indexes():
    seed_demo(contacts=50, seed=DEFAULT_SEED)

    again = seed_demo(contacts=50, seed=DEFAULT_SEED)

    assert not again.deferred_indexes
    assert again.contacts == 50


@pytest.mark.django_db
def test_a_failed_load_puts_the_indexes_back(monkeypatch):
    before = _schema()

    def failing_load(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo_load, "_load_rows", failing_load)
    with pytest.raises(RuntimeError, match="disk full"):
        seed_demo(contacts=100, seed=DEFAULT_SEED)

    assert _schema() == before
