"""Each tag's name_key; tags whose names fold to a key another tag already has are renamed.

Names like "VIP" and "Ｖｉｐ" were distinct tags before and are the same key now. The
oldest (lowest id) keeps its name; each later one gets " (2)", " (3)"… so that every link
stays where it was and nobody's tags are merged behind their back. Each rename is in the
audit log (by the system) and printed, so the people who use them can merge or rename.
Backwards, keys are dropped with 0006 and the renamed tags keep their new names.
"""

from django.db import migrations

from tags.names import name_key

NAME_MAX = 50


def _free_name(name: str, taken: set[str]) -> str:
    n = 2
    while True:
        suffix = f" ({n})"
        candidate = name[: NAME_MAX - len(suffix)] + suffix
        if name_key(candidate) not in taken:
            return candidate
        n += 1


def fill_keys(apps, schema_editor):
    Tag = apps.get_model("tags", "Tag")
    AuditEntry = apps.get_model("audit", "AuditEntry")
    db = schema_editor.connection.alias
    taken: set[str] = set()
    for tag in Tag.objects.using(db).order_by("pk").only("pk", "name").iterator():
        key = name_key(tag.name)
        fields = ["name_key"]
        if key in taken:
            before, tag.name = tag.name, _free_name(tag.name, taken)
            key = name_key(tag.name)
            fields.append("name")
            AuditEntry.objects.using(db).create(
                action="tag.updated",
                target_type="tag",
                target_id=tag.pk,
                target_name=tag.name,
                details={
                    "changes": {"name": {"before": before, "after": tag.name}},
                    "reason": "Another tag has the same name ignoring case, width and "
                    "invisible characters.",
                },
            )
            print(f"\n  Tag {tag.pk} “{before}” renamed “{tag.name}”: another tag has that name.")
        taken.add(key)
        tag.name_key = key
        tag.save(update_fields=fields)


class Migration(migrations.Migration):
    dependencies = [("tags", "0006_tag_name_key"), ("audit", "0002_role_permissions")]

    operations = [migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=False)]
