"""Sales managers and Administrators edit every owner's records; Sales reps their own."""

from django.db import migrations

from accounts.roles import granting


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_edit_all_records_permission")]
    operations = [
        granting(
            "accounts",
            {"Administrator": ["edit_all_records"], "Sales manager": ["edit_all_records"]},
        )
    ]
