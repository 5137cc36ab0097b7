"""Event store: counters, entity versions, command dedupe, partitioned events, rejections.

The tables are created with raw SQL (hash partitions, composite keys); the CreateModel
operations only record the unmanaged models' state for the ORM and the admin.
"""

from typing import Any

from django.db import migrations, models

from events.sql import schema_0001 as ddl
from sequencer_project.db.partitions import create_hash_partitions

EVENT_PARTITIONS = 16


def create_event_partitions(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        for statement in create_hash_partitions("events", EVENT_PARTITIONS):
            cursor.execute(statement)


class Migration(migrations.Migration):
    initial = True
    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.RunSQL(ddl.CREATE_COUNTERS, ddl.DROP_COUNTERS),
        migrations.RunSQL(ddl.CREATE_ENTITY_VERSIONS, ddl.DROP_ENTITY_VERSIONS),
        migrations.RunSQL(ddl.CREATE_COMMAND_DEDUPE, ddl.DROP_COMMAND_DEDUPE),
        migrations.RunSQL(ddl.CREATE_EVENTS, ddl.DROP_EVENTS),
        migrations.RunPython(create_event_partitions, migrations.RunPython.noop),
        migrations.RunSQL(ddl.CREATE_REJECTED_EVENTS, ddl.DROP_REJECTED_EVENTS),
        migrations.CreateModel(
            name="CommandDedupe",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "tenant_id",
                        "store_id",
                        "stream_kind",
                        "command_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("tenant_id", models.UUIDField()),
                ("store_id", models.UUIDField()),
                (
                    "stream_kind",
                    models.SmallIntegerField(choices=[(1, "legacy"), (2, "ves"), (3, "x402")]),
                ),
                ("command_id", models.UUIDField()),
                ("event_id", models.UUIDField()),
                ("created_at", models.DateTimeField()),
            ],
            options={
                "db_table": "command_dedupe",
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="EntityVersion",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "tenant_id",
                        "store_id",
                        "stream_kind",
                        "entity_type",
                        "entity_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("tenant_id", models.UUIDField()),
                ("store_id", models.UUIDField()),
                (
                    "stream_kind",
                    models.SmallIntegerField(choices=[(1, "legacy"), (2, "ves"), (3, "x402")]),
                ),
                ("entity_type", models.CharField(max_length=128)),
                ("entity_id", models.CharField(max_length=512)),
                ("version", models.BigIntegerField()),
                ("last_sequence", models.BigIntegerField()),
                ("updated_at", models.DateTimeField()),
            ],
            options={
                "db_table": "entity_versions",
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="Event",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "tenant_id",
                        "store_id",
                        "sequence_number",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("tenant_id", models.UUIDField()),
                ("store_id", models.UUIDField()),
                ("sequence_number", models.BigIntegerField()),
                ("event_id", models.UUIDField()),
                ("command_id", models.UUIDField(null=True)),
                ("envelope_version", models.IntegerField()),
                ("entity_type", models.CharField(max_length=128)),
                ("entity_id", models.CharField(max_length=512)),
                ("event_type", models.CharField(max_length=256)),
                ("payload", models.BinaryField()),
                ("payload_format", models.SmallIntegerField()),
                ("payload_hash", models.BinaryField()),
                ("envelope_hash", models.BinaryField()),
                ("base_version", models.BigIntegerField(null=True)),
                ("source_agent", models.UUIDField()),
                ("signature", models.BinaryField(null=True)),
                ("created_at", models.DateTimeField()),
                ("sequenced_at", models.DateTimeField()),
            ],
            options={
                "db_table": "events",
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="RejectedEvent",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "tenant_id",
                        "rejection_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("tenant_id", models.UUIDField()),
                ("rejection_id", models.BigIntegerField()),
                ("store_id", models.UUIDField()),
                (
                    "stream_kind",
                    models.SmallIntegerField(choices=[(1, "legacy"), (2, "ves"), (3, "x402")]),
                ),
                ("event_id", models.UUIDField(null=True)),
                ("reason", models.CharField(max_length=64)),
                ("message", models.TextField()),
                ("body", models.BinaryField()),
                ("request_id", models.CharField(max_length=128)),
                ("rejected_at", models.DateTimeField()),
            ],
            options={
                "db_table": "rejected_events",
                "managed": False,
            },
        ),
        migrations.CreateModel(
            name="SequenceCounter",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "tenant_id",
                        "store_id",
                        "stream_kind",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("tenant_id", models.UUIDField()),
                ("store_id", models.UUIDField()),
                (
                    "stream_kind",
                    models.SmallIntegerField(choices=[(1, "legacy"), (2, "ves"), (3, "x402")]),
                ),
                ("current_sequence", models.BigIntegerField()),
                ("updated_at", models.DateTimeField()),
            ],
            options={
                "db_table": "sequence_counters",
                "managed": False,
            },
        ),
    ]
