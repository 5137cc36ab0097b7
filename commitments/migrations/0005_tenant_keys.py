"""Commitments keyed by ``(tenant_id, batch_id)`` (docs/scaling.md; raw DDL in ``commitments/sql/schema_0005.py``).

The model keeps ``batch_id`` as its primary key in Django's state (ids are unique in practice);
only the database key changes. Not atomic: the indexes are built concurrently.
"""

from django.db import migrations

from commitments.sql import schema_0005 as ddl


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("commitments", "0004_on_request_commitments")]

    operations = [
        migrations.RunSQL(ddl.BUILD_INDEXES, ddl.DROP_INDEXES),
        migrations.RunSQL([ddl.SWAP_KEYS], [ddl.UNSWAP_KEYS]),
        migrations.RunSQL(ddl.VALIDATE, migrations.RunSQL.noop),
    ]
