"""The audit log model, taken over from ``events`` (its migration 0004 created ``audit_log``).

State only: the table, its rows and its index are already there (``events`` migration 0007
drops the model from that app's state in the same step).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("events", "0007_audit_log_moves_to_audit_app")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditLogEntry",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("at", models.DateTimeField(auto_now_add=True)),
                        ("actor", models.CharField(max_length=200)),
                        ("action", models.CharField(max_length=64)),
                        ("target_type", models.CharField(max_length=64)),
                        ("target_id", models.CharField(max_length=200)),
                        ("tenant_id", models.UUIDField(null=True)),
                        ("detail", models.JSONField(default=dict)),
                    ],
                    options={
                        "verbose_name": "audit log entry",
                        "verbose_name_plural": "audit log",
                        "db_table": "audit_log",
                        "indexes": [models.Index(fields=["-at"], name="audit_log_at_idx")],
                    },
                )
            ],
            database_operations=[],
        )
    ]
