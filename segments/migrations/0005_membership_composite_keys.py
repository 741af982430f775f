"""Membership and removal rows keyed by (segment, contact), without database foreign keys.

Django cannot turn an id key into a composite one in place, so the new tables are made
beside the old ones here, filled by 0006 and put in their place by 0007. The change
log's author loses its constraint too, and contacts' rows are now deleted by
segments.notify.forget_contacts (on_delete DO_NOTHING: no database change).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0002_role_permissions"),
        ("segments", "0004_segment_sync_schedule"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="KeyedSegmentMember",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "segment",
                        "contact",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "segment",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="segments.segment",
                    ),
                ),
                (
                    "contact",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="contacts.contact",
                    ),
                ),
                (
                    "added_how",
                    models.CharField(
                        choices=[("rule", "By rule"), ("manual", "Manually")], max_length=10
                    ),
                ),
                ("added_at", models.DateTimeField()),
            ],
            options={"db_table": "segments_segmentmember_keyed", "default_permissions": ()},
        ),
        migrations.CreateModel(
            name="KeyedSegmentRemoval",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "segment",
                        "contact",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "segment",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="segments.segment",
                    ),
                ),
                (
                    "contact",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="contacts.contact",
                    ),
                ),
                ("removed_at", models.DateTimeField()),
                (
                    "removed_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"db_table": "segments_segmentremoval_keyed", "default_permissions": ()},
        ),
        migrations.AlterField(
            model_name="membershipchange",
            name="changed_by",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="membershipchange",
            name="contact",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="segment_changes",
                to="contacts.contact",
            ),
        ),
    ]
