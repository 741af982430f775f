"""Copy membership and removal rows into the keyed tables of 0005 (and back)."""

from django.db import migrations

COPIES = [
    # (old table, keyed table, columns)
    (
        "segments_segmentmember",
        "segments_segmentmember_keyed",
        "segment_id, contact_id, added_how, added_at",
    ),
    (
        "segments_segmentremoval",
        "segments_segmentremoval_keyed",
        "segment_id, contact_id, removed_at, removed_by_id",
    ),
]


def copy_forward(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for old, keyed, columns in COPIES:
            # Only rows whose contact still exists: the old foreign keys guaranteed it.
            cursor.execute(f"INSERT INTO {keyed} ({columns}) SELECT {columns} FROM {old}")


def copy_back(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for old, keyed, columns in COPIES:
            # Back under foreign keys: rows of contacts gone meanwhile (strays) stay behind.
            cursor.execute(
                f"INSERT INTO {old} ({columns}) SELECT {columns} FROM {keyed} k "
                f"WHERE EXISTS (SELECT 1 FROM contacts_contact c WHERE c.id = k.contact_id) "
                f"ORDER BY k.segment_id, k.contact_id"
            )


class Migration(migrations.Migration):
    dependencies = [("segments", "0005_membership_composite_keys")]

    operations = [migrations.RunPython(copy_forward, copy_back, elidable=False)]
