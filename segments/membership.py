"""Set-based writes of segment membership, each recording its changes as it makes them.

A sync (segments.sync) and a live update (segments.live) apply the same rules with
the same statements: contacts that stop matching leave, matching newcomers join
(except those removed by hand), each change written to MembershipChange in the
same transaction. No contact id passes through Python:

- PostgreSQL: one statement per step, a data-modifying CTE that deletes (or
  inserts) membership rows and inserts their change rows from its RETURNING;
- SQLite (no RETURNING inside a CTE): the leavers' change rows are inserted first
  and the membership rows then deleted by them; the newcomers are inserted and
  their change rows copied from the membership rows with a higher id than any
  before. The IMMEDIATE transaction keeps every other writer out meanwhile, and
  ids only grow (AUTOINCREMENT), so those rows are exactly this statement's.

`within` restricts a step to some contacts (a live update's batch); a sync passes none.
Such a list of ids is one parameter (an array on PostgreSQL, JSON text on SQLite), so
a statement's SQL stays the same whatever the ids, and can be compiled once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

from django.db.models import F, QuerySet

from segments.choices import AddedHow, MembershipChangeKind
from segments.models import MembershipChange, Segment, SegmentMember, SegmentRemoval

MEMBERS = SegmentMember._meta.db_table
REMOVALS = SegmentRemoval._meta.db_table
CHANGES = MembershipChange._meta.db_table
CHANGE_COLUMNS = "segment_id, contact_id, change, changed_at, reason, sync_run_id, changed_by_id"

# SQL and parameters of a `SELECT … AS contact_id`.
Rows = tuple[str, Sequence]


@dataclass(frozen=True)
class ChangeLog:
    """How one operation's membership changes are recorded: why, when, by which run or whom."""

    reason: str  # a ChangeReason
    at: datetime
    run_id: int | None = None
    by_id: int | None = None

    def values(self, cursor, change: str) -> tuple[str, list]:
        """The change row's columns after segment_id and contact_id, as SELECT expressions."""
        at = cursor.db.ops.adapt_datetimefield_value(self.at)
        # Typed, so that a NULL id keeps its type through a UNION (PostgreSQL).
        ids = "%s::bigint, %s::bigint" if cursor.db.vendor == "postgresql" else "%s, %s"
        return f"%s, %s, %s, {ids}", [change, at, self.reason, self.run_id, self.by_id]


def select_ids(contacts: QuerySet) -> Rows:
    """SQL and parameters of `SELECT … AS contact_id` for the given contacts."""
    ids = contacts.order_by().values(contact_id=F("pk"))
    return ids.query.get_compiler(using=contacts.db).as_sql()


def not_among(cursor, rows: Rows) -> tuple[str, list]:
    """SQL (and parameters) true for a membership row whose contact is not in `rows`.

    PostgreSQL runs NOT EXISTS as a hashed anti-join (NOT IN over a large list would
    be rescanned per row). SQLite runs NOT EXISTS once per member; NOT IN builds the
    list once, as a temporary index, then probes it.
    """
    sql, params = rows
    if cursor.db.vendor == "sqlite":
        return f"{MEMBERS}.contact_id NOT IN (SELECT r.contact_id FROM ({sql}) r)", list(params)
    return (
        f"NOT EXISTS (SELECT 1 FROM ({sql}) r WHERE r.contact_id = {MEMBERS}.contact_id)",
        list(params),
    )


def id_list_sql(vendor: str) -> str:
    """A subquery of the ids in its one parameter, id_list_parameter(vendor, ids)."""
    if vendor == "postgresql":
        return "SELECT unnest(%s::bigint[])"
    return "SELECT value FROM json_each(%s)"


def id_list_parameter(vendor: str, ids: Sequence[int]):
    return (
        [int(pk) for pk in ids] if vendor == "postgresql" else json.dumps([int(pk) for pk in ids])
    )


def _within(cursor, contact_ids: Sequence[int] | None) -> tuple[str, list]:
    if contact_ids is None:
        return "", []
    vendor = cursor.db.vendor
    return (
        f" AND {MEMBERS}.contact_id IN ({id_list_sql(vendor)})",
        [id_list_parameter(vendor, contact_ids)],
    )


def _last_id(cursor, table: str, column: str = "id") -> int:
    cursor.execute(f"SELECT COALESCE(MAX({column}), 0) FROM {table}")
    return cursor.fetchone()[0]


# A sync's criteria, evaluated once into this temporary table (no WAL, dropped at the end).
MATCH_TABLE = "segment_sync_match"


def fill_match_table(cursor, match: Rows) -> tuple[Rows, int]:
    """The contacts in `match`, written once into MATCH_TABLE; its rows (to pass where
    `match` was) and how many. The steps of a sync then read it instead of evaluating the
    criteria again, and the planner knows its size (ANALYZE), so it joins by hash."""
    sql, params = match
    # No DROP first: the table goes at the end (drop_match_table) or with a rollback.
    if cursor.db.vendor == "postgresql":
        cursor.execute(
            f"CREATE TEMPORARY TABLE {MATCH_TABLE} ON COMMIT DROP AS "
            f"SELECT m.contact_id FROM ({sql}) m",
            params,
        )
        matched = cursor.rowcount
        cursor.execute(f"ANALYZE {MATCH_TABLE}")
    else:
        # SQLite: the id as the rowid, so that each probe of it is a key lookup.
        cursor.execute(f"CREATE TEMPORARY TABLE {MATCH_TABLE} (contact_id INTEGER PRIMARY KEY)")
        cursor.execute(f"INSERT INTO {MATCH_TABLE} SELECT m.contact_id FROM ({sql}) m", params)
        matched = cursor.rowcount
    return (f"SELECT contact_id FROM {MATCH_TABLE}", []), matched


def drop_match_table(cursor) -> None:
    """At once, not at COMMIT: the sync may run inside a longer transaction (a test's)."""
    cursor.execute(f"DROP TABLE {MATCH_TABLE}")


def delete_leavers(
    cursor,
    segment: Segment,
    match: Rows,
    keep: Rows | None,
    log: ChangeLog,
    within: Sequence[int] | None = None,
) -> int:
    """Members by rule outside `match` and manual members outside `keep` (None: keep all)
    leave, each with a "left" change; returns how many left."""
    restrict, restrict_params = _within(cursor, within)
    leaving = []
    for how, rows in ((AddedHow.RULE, match), (AddedHow.MANUAL, keep)):
        if rows is None:
            continue
        condition, params = not_among(cursor, rows)
        leaving.append(
            (
                f"{MEMBERS}.segment_id = %s AND {MEMBERS}.added_how = %s{restrict} AND {condition}",
                [segment.pk, how, *restrict_params, *params],
            )
        )
    values, value_params = log.values(cursor, MembershipChangeKind.LEFT)
    removed = 0
    if cursor.db.vendor == "postgresql":
        for condition, params in leaving:
            cursor.execute(
                f"WITH gone AS (DELETE FROM {MEMBERS} WHERE {condition} RETURNING contact_id) "
                f"INSERT INTO {CHANGES} ({CHANGE_COLUMNS}) "
                f"SELECT %s, gone.contact_id, {values} FROM gone",
                [*params, segment.pk, *value_params],
            )
            removed += cursor.rowcount
        return removed
    before = _last_id(cursor, CHANGES)
    for condition, params in leaving:
        cursor.execute(
            f"INSERT INTO {CHANGES} ({CHANGE_COLUMNS}) "
            f"SELECT %s, {MEMBERS}.contact_id, {values} FROM {MEMBERS} WHERE {condition}",
            [segment.pk, *value_params, *params],
        )
        removed += cursor.rowcount
    if removed:
        cursor.execute(
            f"DELETE FROM {MEMBERS} WHERE segment_id = %s AND contact_id IN "
            f"(SELECT c.contact_id FROM {CHANGES} c WHERE c.id > %s)",
            [segment.pk, before],
        )
    return removed


def _newcomers(cursor, segment: Segment, match: Rows, log: ChangeLog) -> tuple[str, list]:
    """The INSERT of the contacts in `match` that are not members and were not removed.

    Existing members are skipped by an anti-join, not by ON CONFLICT, which probes the
    index once per existing member (half a second on a no-change re-sync of 300,000).
    No other writer can add a member meanwhile: each holds the segment's row lock. The
    anti-join reads the table before the statement's own rows (its snapshot), and the
    key's index makes even a nested loop one probe per row, never a rescan.
    """
    match_sql, match_params = match
    insert = (
        f"INSERT INTO {MEMBERS} (segment_id, contact_id, added_how, added_at) "
        f"SELECT %s, m.contact_id, %s, %s FROM ({match_sql}) m "
        f"WHERE NOT EXISTS (SELECT 1 FROM {MEMBERS} x "
        f"WHERE x.segment_id = %s AND x.contact_id = m.contact_id) "
        f"AND NOT EXISTS (SELECT 1 FROM {REMOVALS} r "
        f"WHERE r.segment_id = %s AND r.contact_id = m.contact_id) "
        # In id order the key's index grows at the segment's end instead of at random
        # pages. Callers give a small or temporary set here, cheap to sort (a sync its
        # match table), never the criteria over every contact.
        f"ORDER BY m.contact_id"
    )
    added_at = cursor.db.ops.adapt_datetimefield_value(log.at)
    return insert, [segment.pk, AddedHow.RULE, added_at, *match_params, segment.pk, segment.pk]


def insert_newcomers(cursor, segment: Segment, match: Rows, log: ChangeLog) -> int:
    """Contacts in `match` that are not members and were not removed by hand join by rule,
    each with a "joined" change; returns how many joined."""
    insert, insert_params = _newcomers(cursor, segment, match, log)
    values, value_params = log.values(cursor, MembershipChangeKind.JOINED)
    if cursor.db.vendor == "postgresql":
        cursor.execute(
            f"WITH joined AS ({insert} RETURNING contact_id) "
            f"INSERT INTO {CHANGES} ({CHANGE_COLUMNS}) "
            f"SELECT %s, joined.contact_id, {values} FROM joined",
            [*insert_params, segment.pk, *value_params],
        )
        return cursor.rowcount
    # Rowids only grow: a new row's is one above the largest (members have no id column).
    before = _last_id(cursor, MEMBERS, "rowid")
    cursor.execute(insert, insert_params)
    added = cursor.rowcount
    if added:
        cursor.execute(
            f"INSERT INTO {CHANGES} ({CHANGE_COLUMNS}) "
            f"SELECT segment_id, contact_id, {values} FROM {MEMBERS} WHERE rowid > %s",
            [*value_params, before],
        )
    return added


def _fetch_prepared(cursor, sql: str, params: list) -> tuple:
    """Run a one-row statement as a server-side prepared statement (PostgreSQL).

    Django binds parameters on the client, so PostgreSQL plans every statement anew:
    for a live update of one contact, planning a segment's statement (~1 ms) costs
    far more than running it. Its SQL is the same whatever the ids (one array
    parameter), so a statement prepared once per connection is planned once, and
    PostgreSQL settles on a generic plan after a few runs.
    """
    connection = cursor.db
    # Wrapped as Django wraps its own cursors: errors arrive as django.db errors.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as prepared:
        prepared.execute(sql, params, prepare=True)
        return prepared.fetchone()


def update_within(
    cursor,
    segment: Segment,
    match: Rows,
    keep: Rows | None,
    log: ChangeLog,
    within: Sequence[int],
) -> tuple[int, int]:
    """delete_leavers, then insert_newcomers, for the contacts `within` only (a live
    update); returns (joined, left).

    On PostgreSQL both are one statement: for a few contacts, planning a statement
    costs more than running it, and a live update runs one per live segment. The two
    sets never overlap (whoever leaves matches no condition, so is no newcomer).
    """
    if cursor.db.vendor != "postgresql":
        left = delete_leavers(cursor, segment, match, keep, log, within)
        return insert_newcomers(cursor, segment, match, log), left
    restrict, restrict_params = _within(cursor, within)
    # The contacts that match (and those kept) are found once, for both steps.
    found, found_params = [f"m AS MATERIALIZED ({match[0]})"], list(match[1])
    if keep is not None:
        found.append(f"k AS MATERIALIZED ({keep[0]})")
        found_params += keep[1]
    leaving, leaving_params = [], []
    for how, name in ((AddedHow.RULE, "m"), (AddedHow.MANUAL, "k" if keep else None)):
        if name is not None:
            condition, params = not_among(cursor, (f"SELECT contact_id FROM {name}", []))
            leaving.append(f"({MEMBERS}.added_how = %s AND {condition})")
            leaving_params += [how, *params]
    insert, insert_params = _newcomers(cursor, segment, ("SELECT contact_id FROM m", []), log)
    left_values, left_params = log.values(cursor, MembershipChangeKind.LEFT)
    joined_values, joined_params = log.values(cursor, MembershipChangeKind.JOINED)
    joined, left = _fetch_prepared(
        cursor,
        f"WITH {', '.join(found)}, "
        f"gone AS (DELETE FROM {MEMBERS} WHERE {MEMBERS}.segment_id = %s{restrict} "
        f"AND ({' OR '.join(leaving)}) RETURNING contact_id), "
        f"joined AS ({insert} RETURNING contact_id), "
        f"logged AS (INSERT INTO {CHANGES} ({CHANGE_COLUMNS}) "
        f"SELECT %s, gone.contact_id, {left_values} FROM gone "
        f"UNION ALL SELECT %s, joined.contact_id, {joined_values} FROM joined) "
        f"SELECT (SELECT COUNT(*) FROM joined), (SELECT COUNT(*) FROM gone)",
        [
            *found_params,
            segment.pk,
            *restrict_params,
            *leaving_params,
            *insert_params,
            segment.pk,
            *left_params,
            segment.pk,
            *joined_params,
        ],
    )
    return joined, left
