from django.db import migrations

from accounts.roles import crud, grant, revoke

GRANTS = {
    "Administrator": crud("lead"),
    "Sales manager": crud("lead"),
    "Sales rep": crud("lead", "view add change"),
    "Viewer": crud("lead", "view"),
}


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial"), ("accounts", "0002_roles")]
    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, "leads", GRANTS),
            lambda apps, schema_editor: revoke(apps, "leads", GRANTS),
        )
    ]
