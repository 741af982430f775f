from django.db import migrations

from accounts.roles import crud, grant, revoke

GRANTS = {
    "Administrator": crud("contact"),
    "Sales manager": crud("contact"),
    "Sales rep": crud("contact", "view add change"),
    "Viewer": crud("contact", "view"),
}


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial"), ("accounts", "0002_roles")]
    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, "contacts", GRANTS),
            lambda apps, schema_editor: revoke(apps, "contacts", GRANTS),
        )
    ]
