"""Every role that could export a segment's members before keeps doing so."""

from django.db import migrations

from accounts.roles import grant, revoke

GRANTS = {
    "Administrator": ["export_segment"],
    "Sales manager": ["export_segment"],
    "Sales rep": ["export_segment"],
    "Viewer": ["export_segment"],
}


class Migration(migrations.Migration):
    dependencies = [("segments", "0008_export_segment_permission"), ("accounts", "0002_roles")]
    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: grant(apps, "segments", GRANTS),
            lambda apps, schema_editor: revoke(apps, "segments", GRANTS),
        )
    ]
