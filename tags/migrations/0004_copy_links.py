"""Copy the tag links from the old tables to the new ones, the record's created_at with
them; backwards, copy them back (the old tables' ids are numbered afresh)."""

from django.db import migrations

LINKS = (
    ("ContactTag", "contacts", "Contact"),
    ("LeadTag", "leads", "Lead"),
    ("DealTag", "deals", "Deal"),
)


def forwards(apps, schema_editor):
    for name, app, record in LINKS:
        new = apps.get_model("tags", name)._meta.db_table
        old = apps.get_model("tags", f"Legacy{name}")._meta.db_table
        records = apps.get_model(app, record)._meta.db_table
        # The old tables had foreign keys: every link's record exists.
        schema_editor.execute(
            f"INSERT INTO {new} (tag_id, record_id, record_created_at, created_at) "
            f"SELECT l.tag_id, l.record_id, r.created_at, l.created_at "
            f"FROM {old} l JOIN {records} r ON r.id = l.record_id"
        )


def backwards(apps, schema_editor):
    for name, app, record in LINKS:
        new = apps.get_model("tags", name)._meta.db_table
        old = apps.get_model("tags", f"Legacy{name}")._meta.db_table
        tags = apps.get_model("tags", "Tag")._meta.db_table
        records = apps.get_model(app, record)._meta.db_table
        # Only links whose tag and record exist: the old tables' foreign keys demand it.
        schema_editor.execute(
            f"INSERT INTO {old} (tag_id, record_id, created_at) "
            f"SELECT l.tag_id, l.record_id, l.created_at FROM {new} l "
            f"WHERE EXISTS (SELECT 1 FROM {tags} t WHERE t.id = l.tag_id) "
            f"AND EXISTS (SELECT 1 FROM {records} r WHERE r.id = l.record_id) "
            f"ORDER BY l.created_at, l.tag_id, l.record_id"
        )


class Migration(migrations.Migration):
    dependencies = [("tags", "0003_composite_link_tables")]

    operations = [migrations.RunPython(forwards, backwards)]
