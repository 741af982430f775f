from django.db import migrations

from accounts.roles import grant, revoke

GRANTS = {
    "Administrator": ["view_segment", "manage_segment"],
    "Sales manager": ["view_segment", "manage_segment"],
    "Sales rep": ["view_segment"],
    "Viewer": ["view_segment"],
}


class Migration(migrations.Migration):
    dependencies = [("segments", "0001_initial"), ("accounts", "0002_roles")]
    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, "segments", GRANTS),
            lambda apps, schema_editor: revoke(apps, "segments", GRANTS),
        )
    ]
