"""``rejected_events_rejected_at_idx``: the retention job's index (docs/operations.md, "Retention").

``events.rejections_prune`` deletes the rows older than ``REJECTED_EVENTS_RETENTION_DAYS`` a
bounded batch at a time, oldest first. The table's other keys lead with ``tenant_id`` (its
primary key, and ``rejected_events_stream_idx`` on ``(tenant_id, store_id, rejected_at DESC)``),
so without this index each batch would read the whole table to find the old rows, and once they
are gone every run would read it all to find none.

Not atomic, so ingest is never blocked while the index is built (STYLE rule 26): ``CREATE INDEX
CONCURRENTLY`` on the plain (unpartitioned) table.
"""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("events", "0012_drop_events_created_at_index")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS rejected_events_rejected_at_idx ON rejected_events (rejected_at)",
            "DROP INDEX CONCURRENTLY IF EXISTS rejected_events_rejected_at_idx",
        ),
    ]
