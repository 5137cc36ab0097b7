"""RFC 6962 log per stream: node store and signed checkpoints (``commitments/sql/schema_0002.py``)."""

from django.db import migrations

from commitments.sql import schema_0002 as ddl


class Migration(migrations.Migration):
    dependencies = [("commitments", "0001_commitments")]

    operations = [
        migrations.RunSQL(ddl.CREATE_LOG_NODES, ddl.DROP_LOG_NODES),
        migrations.RunSQL(ddl.CREATE_LOG_CHECKPOINTS, ddl.DROP_LOG_CHECKPOINTS),
    ]
