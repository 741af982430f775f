"""Every role that could export a segment's members before keeps doing so."""

from django.db import migrations

from accounts.roles import granting

# The role names as they were when this ran (accounts.roles.ROLES may change later).
ROLES = ("Administrator", "Sales manager", "Sales rep", "Viewer")


class Migration(migrations.Migration):
    dependencies = [("segments", "0008_export_segment_permission"), ("accounts", "0002_roles")]
    operations = [granting("segments", {role: ["export_segment"] for role in ROLES})]
