"""Event schemas keyed by ``(tenant_id, id)`` in the database (docs/scaling.md).

A distributed PostgreSQL (Citus, distributed by ``tenant_id``) needs the distribution column in
every primary and unique key. Django's state keeps ``id`` as the model's primary key (ids are
unique in practice); a plain index on ``id`` serves reads by id alone (the bootstrap admin's).
Not atomic: the indexes are built concurrently and then adopted (STYLE rule 26).
"""

from django.db import migrations

BUILD_INDEXES = [
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS event_schemas_tenant_pkey ON event_schemas (tenant_id, id)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS event_schemas_id_idx ON event_schemas (id)",
]
DROP_INDEXES = ["DROP INDEX CONCURRENTLY IF EXISTS event_schemas_id_idx"]

SWAP_KEYS = """
ALTER TABLE event_schemas DROP CONSTRAINT event_schemas_pkey,
    ADD CONSTRAINT event_schemas_pkey PRIMARY KEY USING INDEX event_schemas_tenant_pkey
"""
UNSWAP_KEYS = """
ALTER TABLE event_schemas DROP CONSTRAINT event_schemas_pkey, ADD CONSTRAINT event_schemas_pkey PRIMARY KEY (id)
"""


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("schemas", "0001_schemas_registry")]

    operations = [
        migrations.RunSQL(BUILD_INDEXES, DROP_INDEXES),
        migrations.RunSQL([SWAP_KEYS], [UNSWAP_KEYS]),
    ]
