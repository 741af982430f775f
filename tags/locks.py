"""The advisory lock between bulk tag-link writes and record deletes (PostgreSQL).

A bulk INSERT … SELECT of links reads its records without locking them (a foreign key
used to: 100,000 row locks), so a record deleted meanwhile could keep a link. So a
delete first waits for the bulk writes in progress to commit, then locks the tags on
its record (theirs included: tags.counters.lock_tags_on); a bulk write starting later
waits for the delete and no longer sees the record. Both take this lock before any
tag lock: taken later, a delete holding it could wait for a tag that a bulk write
holds while waiting for it. Single attaches lock their record row instead. SQLite
runs one writer at a time and needs none of it.
"""

from django.db import connection
from django.db.models import Model

from tags.records import TAGGABLE_TYPES, taggable_type_for

# The first key of the advisory locks: "tag links of a record type" (the second).
LINK_WRITES_LOCK = 0x7461_6773  # "tags"


def _link_writes_lock(model: type[Model], *, shared: bool) -> None:
    if connection.vendor != "postgresql":
        return
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    key = list(TAGGABLE_TYPES).index(taggable_type_for(model).key)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s, %s)", [LINK_WRITES_LOCK, key])


def hold_off_deletes(model: type[Model]) -> None:
    """Taken by a bulk link write of `model`'s records (shared), before its tag locks."""
    _link_writes_lock(model, shared=True)


def wait_for_link_writes(model: type[Model]) -> None:
    """Taken by a delete of `model`'s records (exclusive), before its tag locks."""
    _link_writes_lock(model, shared=False)
