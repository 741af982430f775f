from django.db import migrations

from accounts.roles import crud, grant, revoke

GRANTS = {
    "Administrator": crud("activity"),
    "Sales manager": crud("activity"),
    "Sales rep": crud("activity", "view add change delete"),
    "Viewer": crud("activity", "view"),
}


class Migration(migrations.Migration):
    dependencies = [("activities", "0001_initial"), ("accounts", "0002_roles")]
    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, "activities", GRANTS),
            lambda apps, schema_editor: revoke(apps, "activities", GRANTS),
        )
    ]
