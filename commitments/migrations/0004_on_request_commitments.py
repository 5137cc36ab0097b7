"""On-request commitments beside the chain (ADR 0020; raw DDL in ``commitments/sql/schema_0004.py``)."""

from django.db import migrations, models

from commitments.sql import schema_0004 as ddl


class Migration(migrations.Migration):
    dependencies = [("commitments", "0003_log_tiles")]

    operations = [
        migrations.RunSQL(
            ddl.ADD_ON_REQUEST,
            ddl.DROP_ON_REQUEST,
            state_operations=[
                migrations.AddField(
                    model_name="commitment", name="on_request", field=models.BooleanField(default=False)
                )
            ],
        ),
    ]
