"""Projection dead letters and checkpoints keyed by ``tenant_id`` first (docs/scaling.md).

A distributed PostgreSQL (Citus, distributed by ``tenant_id``) needs the distribution column
first in every primary and unique key:

- ``projection_dead_letters``: primary key ``(tenant_id, id)`` (Django's state keeps ``id``, unique
  in practice; a plain index on it serves reads by id), and the one-row-per-failed-event key
  ``(tenant_id, projection, store_id, sequence_number)``; ``insert_dead_letter.sql`` names the
  same columns in its ``ON CONFLICT``;
- ``projection_checkpoints``: primary key ``(tenant_id, store_id, projection)``, the same
  columns in another order (every read names all three).

Not atomic, so writes are never blocked for long (STYLE rule 26): the indexes are built
concurrently and one statement block adopts them.
"""

from django.db import migrations, models

BUILD_INDEXES = [
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS projection_dead_letters_tenant_pkey"
    " ON projection_dead_letters (tenant_id, id)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS projection_dead_letters_id_idx ON projection_dead_letters (id)",
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS dead_letter_event_unique_tenant"
    " ON projection_dead_letters (tenant_id, projection, store_id, sequence_number)",
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS projection_checkpoints_tenant_pkey"
    " ON projection_checkpoints (tenant_id, store_id, projection)",
]
DROP_INDEXES = ["DROP INDEX CONCURRENTLY IF EXISTS projection_dead_letters_id_idx"]

SWAP_KEYS = """
DO $$ BEGIN
    ALTER TABLE projection_dead_letters DROP CONSTRAINT projection_dead_letters_pkey,
        ADD CONSTRAINT projection_dead_letters_pkey PRIMARY KEY USING INDEX projection_dead_letters_tenant_pkey;
    ALTER TABLE projection_dead_letters DROP CONSTRAINT dead_letter_event_unique,
        ADD CONSTRAINT dead_letter_event_unique UNIQUE USING INDEX dead_letter_event_unique_tenant;
    ALTER TABLE projection_checkpoints DROP CONSTRAINT projection_checkpoints_pkey,
        ADD CONSTRAINT projection_checkpoints_pkey PRIMARY KEY USING INDEX projection_checkpoints_tenant_pkey;
END $$
"""
UNSWAP_KEYS = """
DO $$ BEGIN
    ALTER TABLE projection_dead_letters DROP CONSTRAINT projection_dead_letters_pkey,
        ADD CONSTRAINT projection_dead_letters_pkey PRIMARY KEY (id);
    ALTER TABLE projection_dead_letters DROP CONSTRAINT dead_letter_event_unique,
        ADD CONSTRAINT dead_letter_event_unique UNIQUE (projection, tenant_id, store_id, sequence_number);
    ALTER TABLE projection_checkpoints DROP CONSTRAINT projection_checkpoints_pkey,
        ADD CONSTRAINT projection_checkpoints_pkey PRIMARY KEY (projection, tenant_id, store_id);
END $$
"""


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("events", "0007_audit_log_moves_to_audit_app")]

    operations = [
        migrations.RunSQL(BUILD_INDEXES, DROP_INDEXES),
        migrations.RunSQL(
            [SWAP_KEYS],
            [UNSWAP_KEYS],
            state_operations=[
                migrations.RemoveConstraint(model_name="projectiondeadletter", name="dead_letter_event_unique"),
                migrations.AddConstraint(
                    model_name="projectiondeadletter",
                    constraint=models.UniqueConstraint(
                        fields=("tenant_id", "projection", "store_id", "sequence_number"),
                        name="dead_letter_event_unique",
                    ),
                ),
                migrations.AlterField(
                    model_name="projectioncheckpoint",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "tenant_id",
                        "store_id",
                        "projection",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
            ],
        ),
    ]
