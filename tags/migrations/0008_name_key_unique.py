"""name_key becomes the names' uniqueness rule, replacing lower(name) (#15 L5)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tags", "0007_fill_name_keys")]

    operations = [
        migrations.AlterField(
            model_name="tag",
            name="name_key",
            field=models.TextField(
                editable=False,
                error_messages={
                    "unique": "A tag with this name already exists; names ignore case."
                },
                unique=True,
            ),
        ),
        migrations.RemoveConstraint(model_name="tag", name="tag_name_unique_ci"),
    ]
