from django.db import migrations

from accounts.roles import grant, revoke

# Everyone follows their own jobs; Administrators follow everyone's.
GRANTS = {"Administrator": ["view_all_jobs"]}


class Migration(migrations.Migration):
    dependencies = [("jobs", "0001_initial"), ("accounts", "0002_roles")]
    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, "jobs", GRANTS),
            lambda apps, schema_editor: revoke(apps, "jobs", GRANTS),
        )
    ]
