"""The anchor transaction kept, signed, before it is sent, and the cap on failed sends
(docs/commitments.md, "Anchoring"; raw DDL in ``commitments/sql/schema_0007.py``). Not atomic:
the indexes are built concurrently, each after an invalid index of its name is dropped. Django
records a non-atomic migration only after its last step, so every step can run again after an
interruption (columns ``IF NOT EXISTS``, each check only when missing)."""

from django.db import migrations

from commitments.sql import schema_0006
from commitments.sql import schema_0007 as ddl


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("commitments", "0006_anchoring_state")]

    operations = [
        migrations.RunSQL(ddl.ADD_COLUMNS, ddl.DROP_COLUMNS),
        migrations.RunSQL(ddl.ADD_SIGNED_TX_CHECK, ddl.DROP_SIGNED_TX_CHECK),
        migrations.RunSQL(ddl.ADD_ATTEMPTS_CHECK, ddl.DROP_ATTEMPTS_CHECK),
        migrations.RunSQL(ddl.VALIDATE_SIGNED_TX, migrations.RunSQL.noop),
        migrations.RunSQL(ddl.VALIDATE_ATTEMPTS, migrations.RunSQL.noop),
        migrations.RunPython(ddl.drop_invalid_due_index, migrations.RunPython.noop),
        migrations.RunSQL(ddl.BUILD_DUE_INDEX, ddl.DROP_DUE_INDEX),
        migrations.RunPython(ddl.drop_invalid_given_up_index, migrations.RunPython.noop),
        migrations.RunSQL(ddl.BUILD_GIVEN_UP_INDEX, ddl.DROP_GIVEN_UP_INDEX),
        # Reversed, these two run bottom up: drop an invalid 0006 index, then rebuild it.
        migrations.RunSQL(ddl.DROP_UNANCHORED_INDEX, schema_0006.BUILD_INDEX),
        migrations.RunPython(migrations.RunPython.noop, schema_0006.drop_invalid_unanchored_index),
    ]
