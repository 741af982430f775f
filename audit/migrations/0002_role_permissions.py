from django.db import migrations

from accounts.roles import grant, revoke

# The audit log names who did what: only Administrators read it.
GRANTS = {"Administrator": ["view_auditentry"]}


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial"), ("accounts", "0002_roles")]
    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, "audit", GRANTS),
            lambda apps, schema_editor: revoke(apps, "audit", GRANTS),
        )
    ]
