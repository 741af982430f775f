"""Replace lone surrogates already stored in JSON columns with U+FFFD.

Before JSON input refused them (core.json_limits), a `"\\ud800"` escape in a request
could reach a JSON column on SQLite (Django stores JSON with ASCII escapes, so SQLite
took it; PostgreSQL's jsonb refuses it). Reading such a row back gives a string that
cannot be encoded, and every page or API answer showing it failed (the segments list,
the audit log). Only SQLite can hold them, and only in JSON columns: plain text columns
never could (sqlite3 refuses to bind such a string).

Data only, and not reversible in any useful way: the surrogates were never text.
"""

import re

from django.db import migrations

LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# (app, model, JSON field): every JSON column of Cohort's models.
JSON_COLUMNS = [
    ("segments", "Segment", "criteria"),
    ("segments", "SyncRun", "criteria"),
    ("audit", "AuditEntry", "details"),
    ("jobs", "Job", "params"),
    ("jobs", "Job", "result"),
]


def _mended(value):
    if isinstance(value, str):
        # A pair of escapes is decoded as one character, so any surrogate left is alone.
        return LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_mended(item) for item in value]
    if isinstance(value, dict):
        return {_mended(key): _mended(item) for key, item in value.items()}
    return value


def clean_lone_surrogates(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for app_label, model_name, field in JSON_COLUMNS:
        model = apps.get_model(app_label, model_name)
        table = schema_editor.quote_name(model._meta.db_table)
        column = schema_editor.quote_name(model._meta.get_field(field).column)
        key = schema_editor.quote_name(model._meta.pk.column)
        # The stored JSON spells a surrogate as an ASCII escape, \ud800 to \udfff.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(f"SELECT {key} FROM {table} WHERE {column} LIKE %s", ["%\\ud%"])
            suspects = [pk for (pk,) in cursor.fetchall()]
        for pk, value in model.objects.filter(pk__in=suspects).values_list("pk", field):
            mended = _mended(value)
            if mended != value:
                model.objects.filter(pk=pk).update(**{field: mended})


class Migration(migrations.Migration):
    dependencies = [
        ("segments", "0004_segment_sync_schedule"),
        ("audit", "0002_role_permissions"),
        ("jobs", "0002_role_permissions"),
    ]

    operations = [migrations.RunPython(clean_lone_surrogates, migrations.RunPython.noop)]
