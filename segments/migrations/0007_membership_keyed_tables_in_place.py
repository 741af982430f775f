"""The keyed tables of 0005, filled by 0006, take the place of the old ones."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("segments", "0006_membership_copy_rows")]

    operations = [
        migrations.DeleteModel(name="SegmentMember"),
        migrations.DeleteModel(name="SegmentRemoval"),
        migrations.RenameModel(old_name="KeyedSegmentMember", new_name="SegmentMember"),
        migrations.RenameModel(old_name="KeyedSegmentRemoval", new_name="SegmentRemoval"),
        migrations.AlterModelTable(name="segmentmember", table=None),
        migrations.AlterModelTable(name="segmentremoval", table=None),
        migrations.AlterModelOptions(
            name="segmentmember",
            options={"default_permissions": (), "ordering": ["-added_at", "-contact_id"]},
        ),
        migrations.AlterModelOptions(
            name="segmentremoval",
            options={"default_permissions": (), "ordering": ["-removed_at", "-contact_id"]},
        ),
        migrations.AlterField(
            model_name="segmentmember",
            name="segment",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="memberships",
                to="segments.segment",
            ),
        ),
        migrations.AlterField(
            model_name="segmentmember",
            name="contact",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="segment_memberships",
                to="contacts.contact",
            ),
        ),
        migrations.AlterField(
            model_name="segmentremoval",
            name="segment",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="removals",
                to="segments.segment",
            ),
        ),
        migrations.AlterField(
            model_name="segmentremoval",
            name="contact",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="segment_removals",
                to="contacts.contact",
            ),
        ),
        migrations.AddIndex(
            model_name="segmentmember",
            index=models.Index(
                fields=["segment", "added_at", "contact"], name="segmentmember_listing_idx"
            ),
        ),
    ]
