"""Room on each page for the projection tables' updates: ``entity_state`` fillfactor 70,
``projection_checkpoints`` 80.

Both are updated in place all day (an entity's state on each of its events, a stream's
checkpoint on each projection batch) and neither update changes an indexed column (only the
primary keys are indexed), so each could be a HOT update written on the row's own page with no
new index entry, if the page has room. At the default fillfactor (100) pages are full: a growth
audit saw 18.7 % of `entity_state` updates (rows of ~1 KB of sealed state) and 54.1 % of
`projection_checkpoints` updates HOT, the rest each a new index entry and a dead row for vacuum.

``ALTER TABLE ... SET (fillfactor)`` takes SHARE UPDATE EXCLUSIVE (reads and writes go on) and
applies to pages written from now on; existing pages keep their rows until they are updated
or the table is rewritten (docs/operations.md, "Planner statistics (autovacuum)").
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("events", "0013_rejected_events_rejected_at_index")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE entity_state SET (fillfactor = 70)", "ALTER TABLE entity_state RESET (fillfactor)"
        ),
        migrations.RunSQL(
            "ALTER TABLE projection_checkpoints SET (fillfactor = 80)",
            "ALTER TABLE projection_checkpoints RESET (fillfactor)",
        ),
    ]
