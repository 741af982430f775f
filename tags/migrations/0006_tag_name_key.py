"""Tag.name_key, nullable until 0007 fills it (#15 L5)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tags", "0005_link_indexes_drop_legacy")]

    operations = [
        migrations.AddField(
            model_name="tag",
            name="name_key",
            field=models.TextField(editable=False, null=True),
        ),
    ]
