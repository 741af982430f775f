"""Link tables keyed by (tag, record), without database foreign keys, with the record's
created_at copied onto each link (tags.models.TagLink).

Django cannot change a table's primary key to a composite one in place, so the old
tables are renamed aside (`tags_legacy…`), new ones created beside them; 0004 copies
the rows across, 0005 adds the secondary indexes (built once, after the copy) and drops
the old tables. Every step runs backwards too.
"""

from django.db import migrations, models

LINKS = (
    ("ContactTag", "contacttag", "contacts.contact", "contacts"),
    ("LeadTag", "leadtag", "leads.lead", "leads"),
    ("DealTag", "dealtag", "deals.deal", "deals"),
)


def _rename_pkeys(forward: bool):
    """PostgreSQL names a primary key's index after its table: move the old ones aside."""

    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for _name, lower, _to, _m2m in LINKS:
            old, new = f"tags_{lower}_pkey", f"tags_legacy{lower}_pkey"
            source, target = (old, new) if forward else (new, old)
            schema_editor.execute(f'ALTER INDEX IF EXISTS "{source}" RENAME TO "{target}"')

    return run


def _operations():
    ops = []
    for _name, _lower, _to, m2m in LINKS:
        ops.append(migrations.RemoveField(model_name="tag", name=m2m))
    for name, _lower, _to, _m2m in LINKS:
        ops.append(migrations.RenameModel(old_name=name, new_name=f"Legacy{name}"))
    ops.append(migrations.RunPython(_rename_pkeys(True), _rename_pkeys(False)))
    for name, _lower, to, m2m in LINKS:
        ops.append(
            migrations.CreateModel(
                name=name,
                fields=[
                    (
                        "pk",
                        models.CompositePrimaryKey(
                            "tag",
                            "record",
                            blank=True,
                            editable=False,
                            primary_key=True,
                            serialize=False,
                        ),
                    ),
                    (
                        "tag",
                        models.ForeignKey(
                            db_constraint=False,
                            db_index=False,
                            on_delete=models.deletion.CASCADE,
                            to="tags.tag",
                        ),
                    ),
                    (
                        "record",
                        models.ForeignKey(
                            db_constraint=False,
                            db_index=False,
                            on_delete=models.deletion.CASCADE,
                            to=to,
                        ),
                    ),
                    ("record_created_at", models.DateTimeField()),
                    ("created_at", models.DateTimeField(auto_now_add=True)),
                ],
                options={"ordering": ["tag_id", "record_id"]},
            )
        )
        ops.append(
            migrations.AddField(
                model_name="tag",
                name=m2m,
                field=models.ManyToManyField(
                    blank=True, related_name="tags", through=f"tags.{name}", to=to
                ),
            )
        )
    return ops


class Migration(migrations.Migration):
    dependencies = [
        ("tags", "0002_role_permissions"),
        ("contacts", "0002_role_permissions"),
        ("deals", "0002_role_permissions"),
        ("leads", "0002_role_permissions"),
    ]

    operations = _operations()
