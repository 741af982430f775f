"""The link tables' two secondary indexes, built once after 0004's copy, and the old
tables dropped (backwards: recreated empty, for 0004 to fill)."""

from django.db import migrations, models

LINKS = (("ContactTag", "contacttag"), ("LeadTag", "leadtag"), ("DealTag", "dealtag"))


def _operations():
    ops = []
    for name, lower in LINKS:
        ops += [
            migrations.AddIndex(
                model_name=lower,
                index=models.Index(fields=["record", "tag"], name=f"{lower}_record_tag_idx"),
            ),
            migrations.AddIndex(
                model_name=lower,
                index=models.Index(
                    fields=["tag", "-record_created_at", "-record"], name=f"{lower}_tag_order_idx"
                ),
            ),
            migrations.DeleteModel(name=f"Legacy{name}"),
        ]
    return ops


class Migration(migrations.Migration):
    dependencies = [("tags", "0004_copy_links")]

    operations = _operations()
