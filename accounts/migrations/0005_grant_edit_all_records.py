"""Sales managers and Administrators edit every owner's records; Sales reps their own."""

from django.db import migrations

from accounts.roles import grant, revoke

GRANTS = {"Administrator": ["edit_all_records"], "Sales manager": ["edit_all_records"]}


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_edit_all_records_permission")]
    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, "accounts", GRANTS),
            lambda apps, schema_editor: revoke(apps, "accounts", GRANTS),
        )
    ]
