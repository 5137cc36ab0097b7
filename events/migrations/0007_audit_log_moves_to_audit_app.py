"""The audit log model moves to the ``audit`` app: state only, the ``audit_log`` table stays.

``audit`` migration 0001 takes the model into its own state; no SQL runs either way.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("events", "0006_rejected_events_log_view")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditLogEntry")],
            database_operations=[],
        )
    ]
