from django.db import migrations

from accounts.roles import crud, grant, revoke

GRANTS = {
    "Administrator": crud("deal"),
    "Sales manager": crud("deal"),
    "Sales rep": crud("deal", "view add change"),
    "Viewer": crud("deal", "view"),
}


class Migration(migrations.Migration):
    dependencies = [("deals", "0001_initial"), ("accounts", "0002_roles")]
    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, "deals", GRANTS),
            lambda apps, schema_editor: revoke(apps, "deals", GRANTS),
        )
    ]
