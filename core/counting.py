"""Counts that stay cheap at a million rows."""

from django.db import connections
from django.db.models import QuerySet

from core.paging import capped_count

# Past this many rows an unfiltered table's count comes from PostgreSQL's statistics.
ESTIMATE_ABOVE = 100_000


def estimated_count(queryset: QuerySet) -> int:
    """The exact count for small tables; PostgreSQL's planner estimate for big unfiltered ones.

    SQLite has no cheap estimate, but counting its covering index is fast enough
    for the dashboard at a million rows.
    """
    connection = connections[queryset.db]
    unfiltered = not queryset.query.where
    if connection.vendor == "postgresql" and unfiltered:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            estimate = cursor.fetchone()[0]
        if estimate > ESTIMATE_ABOVE:
            return estimate
    count, exact = capped_count(queryset, cap=ESTIMATE_ABOVE)
    return count if exact else queryset.count()
