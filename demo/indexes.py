"""Secondary indexes and foreign keys set aside while a bulk load fills empty tables.

Writing a million rows through five random-keyed B-trees and per-row foreign-key
checks costs several times the rows themselves (the 2026-12 performance review, §7);
building each index once from the loaded table is a sort, and adding a foreign key
is one anti-join instead of a check per row. Both databases run DDL inside
transactions, so the caller's transaction covers the drop, the load and the rebuild:
if the load fails, the rollback puts every index and constraint back as it was.

Primary keys stay, and so does every unique index another table's foreign key
relies on. What is dropped is read from the catalogue, so a migration that adds or
renames an index needs no change here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, models


@dataclass(frozen=True)
class _SetAside:
    drop: list[str]
    rebuild: list[str]


@contextmanager
def indexes_built_after_load(model_classes: Sequence[type[models.Model]]) -> Iterator[None]:
    """Drop the tables' secondary indexes and foreign keys, run the body, rebuild them.

    Call inside transaction.atomic(), on tables the body may fill but nobody else
    reads meanwhile (PostgreSQL holds them locked until the commit anyway).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("indexes_built_after_load needs a transaction to undo a failed load")
    tables = [model._meta.db_table for model in model_classes]
    if connection.vendor == "postgresql":
        plan = _postgresql_plan(tables)
    elif connection.vendor == "sqlite":
        plan = _sqlite_plan(tables)
    else:  # another backend: load through the indexes, as before
        plan = _SetAside([], [])
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and plan.drop:
            # ALTER TABLE refuses a table with deferred checks still queued (rows this
            # transaction deleted): run them now. Django makes every foreign key
            # DEFERRABLE INITIALLY DEFERRED, so ALL DEFERRED then restores the default.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for statement in plan.drop:
            cursor.execute(statement)
    yield
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Sorted index builds want room to sort in memory (the default is 64 MB).
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in plan.rebuild:
            cursor.execute(statement)


def _postgresql_plan(tables: list[str]) -> _SetAside:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        # Foreign keys of these tables, then unique constraints no foreign key depends
        # on, then plain indexes (those that back no constraint).
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
            FROM pg_constraint c
            WHERE c.conrelid = ANY(%s::regclass[]) AND (
                c.contype = 'f'
                OR (c.contype = 'u' AND NOT EXISTS (
                    SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid
                ))
            )
            ORDER BY c.contype = 'u' DESC, c.conrelid::regclass::text, c.conname
            """,
            [tables],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            ORDER BY 1
            """,
            [tables],
        )
        indexes = cursor.fetchall()
    foreign = [row for row in constraints if row[2] == "f"]
    unique = [row for row in constraints if row[2] == "u"]
    drop = [f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}" for table, name, _, _ in foreign]
    drop += [f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}" for table, name, _, _ in unique]
    drop += [f"DROP INDEX {name}" for name, _ in indexes]
    rebuild = [
        f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}"
        for table, name, _, definition in unique
    ]
    rebuild += [definition for _, definition in indexes]
    # Added last, each checked by one scan of the loaded rows.
    rebuild += [
        f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}"
        for table, name, _, definition in foreign
    ]
    return _SetAside(drop, rebuild)


def _sqlite_plan(tables: list[str]) -> _SetAside:
    # Indexes created by CREATE INDEX have their SQL in sqlite_master; those SQLite
    # makes for a column's UNIQUE (sqlite_autoindex_…) belong to the table and stay.
    # Foreign keys are part of the table's definition and stay too: SQLite checks
    # one by a primary-key probe of the parent, which is cheap.
    placeholders = ", ".join(["%s"] * len(tables))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND tbl_name IN ({placeholders}) ORDER BY name",
            tables,
        )
        indexes = cursor.fetchall()
    quote = connection.ops.quote_name
    return _SetAside(
        drop=[f"DROP INDEX {quote(name)}" for name, _ in indexes],
        rebuild=[sql for _, sql in indexes],
    )
