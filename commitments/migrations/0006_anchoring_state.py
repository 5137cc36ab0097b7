"""Anchoring state of a commitment and the anchoring sweep's index (docs/commitments.md,
"Anchoring"; raw DDL in ``commitments/sql/schema_0006.py``). Not atomic: the index is built
concurrently, after an invalid index of its name (an interrupted build) is dropped."""

from django.db import migrations

from commitments.sql import schema_0006 as ddl


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("commitments", "0005_tenant_keys")]

    operations = [
        migrations.RunSQL(ddl.ADD_COLUMNS, ddl.DROP_COLUMNS),
        migrations.RunSQL(ddl.VALIDATE, migrations.RunSQL.noop),
        migrations.RunPython(ddl.drop_invalid_unanchored_index, migrations.RunPython.noop),
        migrations.RunSQL(ddl.BUILD_INDEX, ddl.DROP_INDEX),
    ]
