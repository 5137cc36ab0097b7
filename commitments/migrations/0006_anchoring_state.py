"""Anchoring state of a commitment and the anchoring sweep's index (docs/commitments.md,
"Anchoring"; raw DDL in ``commitments/sql/schema_0006.py``). Not atomic: the index is built
concurrently, after an invalid index of its name (an interrupted build) is dropped. Django records
a non-atomic migration only after its last step, so every step can run again after an
interruption (columns ``IF NOT EXISTS``, the check only when missing)."""

from django.db import migrations

from commitments.sql import schema_0006 as ddl


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("commitments", "0005_tenant_keys")]

    operations = [
        migrations.RunSQL(ddl.ADD_COLUMNS, ddl.DROP_COLUMNS),
        migrations.RunSQL(ddl.ADD_CHECK, ddl.DROP_CHECK),
        migrations.RunSQL(ddl.VALIDATE, migrations.RunSQL.noop),
        migrations.RunPython(ddl.drop_invalid_unanchored_index, migrations.RunPython.noop),
        migrations.RunSQL(ddl.BUILD_INDEX, ddl.DROP_INDEX),
    ]
