from django.db import migrations

from accounts.roles import crud, grant, revoke

GRANTS = {"Administrator": crud("user") + crud("apitoken")}


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_roles")]
    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, "accounts", GRANTS),
            lambda apps, schema_editor: revoke(apps, "accounts", GRANTS),
        )
    ]
