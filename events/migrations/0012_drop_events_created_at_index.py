"""Drop ``events_created_at_idx``: no statement reads it, and every event paid for it.

No query of the service filters or orders legacy events by ``created_at`` (the time a client
claims; ranges, entity histories and the admin page on the sequence number). The index cost each
inserted event one more B-tree entry and its WAL, and with no planner statistics it drew the
by-id lookup away from the unique ``(tenant_id, event_id)`` index (docs/performance.md, "Event
by id and planner statistics"). The Rust reference has no such index either. Dropping the
partitioned index drops each partition's.
"""

from django.db import migrations

_CREATE = "CREATE INDEX events_created_at_idx ON events (tenant_id, store_id, created_at DESC)"


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0011_entity_state_by_reference"),
    ]

    operations = [
        migrations.RunSQL(sql="DROP INDEX IF EXISTS events_created_at_idx", reverse_sql=_CREATE),
    ]
