"""Commitments of legacy and VES streams (raw DDL in ``commitments/sql/schema_0001.py``)."""

from django.db import migrations, models

from commitments.sql import schema_0001 as ddl


class Migration(migrations.Migration):
    initial = True
    dependencies = [("events", "0002_ves_events")]

    operations = [
        migrations.RunSQL(ddl.CREATE_COMMITMENTS, ddl.DROP_COMMITMENTS),
        migrations.CreateModel(
            name="Commitment",
            fields=[
                ("batch_id", models.UUIDField(primary_key=True, serialize=False)),
                ("tenant_id", models.UUIDField()),
                ("store_id", models.UUIDField()),
                ("stream_kind", models.SmallIntegerField()),
                ("ves_version", models.IntegerField()),
                ("tree_depth", models.IntegerField()),
                ("leaf_count", models.IntegerField()),
                ("padded_leaf_count", models.IntegerField()),
                ("merkle_root", models.BinaryField()),
                ("prev_state_root", models.BinaryField()),
                ("new_state_root", models.BinaryField()),
                ("sequence_start", models.BigIntegerField()),
                ("sequence_end", models.BigIntegerField()),
                ("committed_at", models.DateTimeField()),
                ("chain_id", models.BigIntegerField(null=True)),
                ("chain_tx_hash", models.BinaryField(null=True)),
                ("chain_block_number", models.BigIntegerField(null=True)),
                ("anchored_at", models.DateTimeField(null=True)),
            ],
            options={"db_table": "commitments", "managed": False},
        ),
    ]
