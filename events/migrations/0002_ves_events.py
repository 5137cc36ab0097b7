"""VES event store: ``ves_events`` (16 hash partitions by tenant) with receipt columns.

Counters, entity versions and command ids reuse the tables of 0001 with ``stream_kind = 2``.
"""

from typing import Any

from django.db import migrations

from events.sql import schema_0002 as ddl
from sequencer_project.db.partitions import create_hash_partitions

VES_EVENT_PARTITIONS = 16


def create_ves_event_partitions(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        for statement in create_hash_partitions("ves_events", VES_EVENT_PARTITIONS):
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("events", "0001_initial")]

    operations = [
        migrations.RunSQL(ddl.CREATE_VES_EVENTS, ddl.DROP_VES_EVENTS),
        migrations.RunPython(create_ves_event_partitions, migrations.RunPython.noop),
    ]
