"""``rejected_events_rejected_at_idx``: the retention job's index (docs/operations.md, "Retention").

``events.rejections_prune`` deletes the rows older than ``REJECTED_EVENTS_RETENTION_DAYS`` a
bounded batch at a time, oldest first. The table's other keys lead with ``tenant_id`` (its
primary key, and ``rejected_events_stream_idx`` on ``(tenant_id, store_id, rejected_at DESC)``),
so without this index each batch would read the whole table to find the old rows, and once they
are gone every run would read it all to find none.

Not atomic, so ingest is never blocked while the index is built (STYLE rule 26): ``CREATE INDEX
CONCURRENTLY`` on the plain (unpartitioned) table, after an invalid index of its name (what an
interrupted build leaves, and ``IF NOT EXISTS`` would keep) is dropped
(:mod:`sequencer_project.db.rerunnable_ddl`).
"""

from django.db import migrations

from sequencer_project.db.rerunnable_ddl import invalid_index_dropper

INDEX = "rejected_events_rejected_at_idx"
BUILD_INDEX = f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON rejected_events (rejected_at)"
DROP_INDEX = f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}"


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("events", "0012_drop_events_created_at_index")]

    operations = [
        migrations.RunPython(invalid_index_dropper(name=INDEX, drop=DROP_INDEX), migrations.RunPython.noop),
        migrations.RunSQL(BUILD_INDEX, DROP_INDEX),
    ]
