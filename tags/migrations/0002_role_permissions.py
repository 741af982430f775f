from django.db import migrations

from accounts.roles import grant, revoke

GRANTS = {
    "Administrator": ["view_tag", "manage_tag"],
    "Sales manager": ["view_tag", "manage_tag"],
    "Sales rep": ["view_tag"],
    "Viewer": ["view_tag"],
}


class Migration(migrations.Migration):
    dependencies = [("tags", "0001_initial"), ("accounts", "0002_roles")]
    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, "tags", GRANTS),
            lambda apps, schema_editor: revoke(apps, "tags", GRANTS),
        )
    ]
