"""Segment rows that outlived what they point at, found and (on request) deleted.

Membership, removal and change rows have no foreign key constraint in the database
(segments.models says why); segments.notify.forget_contacts deletes a contact's rows
before the contact, and a segment's rows go with it through the ORM. Should a row
slip past them anyway (a delete by raw SQL, a restored backup), `check_segment_rows`
finds it; `manage.py check_integrity` runs it with every other app's checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections, router, transaction

from contacts.models import Contact
from segments.models import MembershipChange, Segment, SegmentMember, SegmentRemoval, SyncRun


@dataclass(frozen=True)
class Finding:
    """Rows of `table` whose `column` names no row of the table it refers to."""

    table: str
    column: str
    count: int
    repaired: bool = False

    def __str__(self) -> str:
        done = " (deleted)" if self.repaired else ""
        return f"{self.table}.{self.column}: {self.count} stray row(s){done}"


# (model, column, model it refers to); nullable columns count only when set.
_REFERENCES = [
    (SegmentMember, "contact_id", Contact),
    (SegmentMember, "segment_id", Segment),
    (SegmentRemoval, "contact_id", Contact),
    (SegmentRemoval, "segment_id", Segment),
    (MembershipChange, "contact_id", Contact),
    (MembershipChange, "segment_id", Segment),
    (MembershipChange, "sync_run_id", SyncRun),
]


def _stray(model, column: str, target) -> str:
    table, target_table = model._meta.db_table, target._meta.db_table
    return (
        f"FROM {table} WHERE {column} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {target_table} t WHERE t.{target._meta.pk.column} = {table}.{column})"
    )


def check_segment_rows(*, repair: bool = False) -> list[Finding]:
    """Membership, removal and change rows of contacts, segments or runs that are gone;
    deleted with `repair` (a member among them also leaves its segment's count)."""
    using = router.db_for_write(SegmentMember)
    findings = []
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        for model, column, target in _REFERENCES:
            where = _stray(model, column, target)
            cursor.execute(f"SELECT COUNT(*) {where}")
            count = cursor.fetchone()[0]
            if not count:
                continue
            if repair:
                cursor.execute(f"DELETE {where}")
            findings.append(Finding(model._meta.db_table, column, count, repaired=repair))
        if repair and any(f.table == SegmentMember._meta.db_table for f in findings):
            # Counters from the rows left (few segments, one index range each).
            cursor.execute(
                f"UPDATE {Segment._meta.db_table} SET member_count = (SELECT COUNT(*) FROM "
                f"{SegmentMember._meta.db_table} m WHERE m.segment_id = "
                f"{Segment._meta.db_table}.id)"
            )
    return findings
