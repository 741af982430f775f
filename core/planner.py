"""Keeping PostgreSQL's planner informed after bulk writes."""

from django.db import connections
from django.db.models import Model

# Rows written by one bulk change past which the tables it touched are re-analyzed.
STATISTICS_REFRESH_AFTER = 10_000


def refresh_statistics(using: str, *models: type[Model]) -> None:
    """ANALYZE the models' tables on PostgreSQL (SQLite plans need no such help).

    Right after a big change the planner may still believe a table is nearly empty:
    new plans pick sequential scans or nested loops over it, and plans it has kept stay
    so until autovacuum catches up. That includes the foreign key checks Django defers
    to the commit: one kept from when the table was small scans the whole table once
    per new row, for minutes. ANALYZE, also inside the writing transaction (it counts
    that transaction's rows), fixes the figures and makes every kept plan re-plan.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
