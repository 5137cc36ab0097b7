"""Raw DDL of migration 0005: commitments keyed by ``(tenant_id, batch_id)`` (docs/scaling.md).

A distributed PostgreSQL (Citus, distributed by ``tenant_id``) needs the distribution column in
every primary and unique key, and foreign keys between distributed tables that include it. The
checkpoint's reference to its commitment becomes ``(tenant_id, batch_id)``. A plain index on
``batch_id`` keeps reads by id alone (the admin, the anchor service, the bootstrap admin's API
calls) off a scan; a tenant's reads use the primary key.

Writes are never blocked for long (STYLE rule 26): the new indexes are built concurrently, the
swap is one short statement block that adopts them (``PRIMARY KEY USING INDEX``, the foreign key
``NOT VALID``), and the foreign key is validated afterwards under a lock that lets writes through.
"""

BUILD_INDEXES = [
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS commitments_tenant_pkey ON commitments (tenant_id, batch_id)",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS commitments_batch_id_idx ON commitments (batch_id)",
]
DROP_INDEXES = [
    "DROP INDEX CONCURRENTLY IF EXISTS commitments_batch_id_idx",
]

SWAP_KEYS = """
DO $$ BEGIN
    ALTER TABLE log_checkpoints DROP CONSTRAINT log_checkpoints_batch_id_fkey;
    ALTER TABLE commitments DROP CONSTRAINT commitments_pkey,
        ADD CONSTRAINT commitments_pkey PRIMARY KEY USING INDEX commitments_tenant_pkey;
    ALTER TABLE log_checkpoints ADD CONSTRAINT log_checkpoints_commitment_fkey
        FOREIGN KEY (tenant_id, batch_id) REFERENCES commitments (tenant_id, batch_id) NOT VALID;
END $$
"""
UNSWAP_KEYS = """
DO $$ BEGIN
    ALTER TABLE log_checkpoints DROP CONSTRAINT log_checkpoints_commitment_fkey;
    ALTER TABLE commitments DROP CONSTRAINT commitments_pkey, ADD CONSTRAINT commitments_pkey PRIMARY KEY (batch_id);
    ALTER TABLE log_checkpoints ADD CONSTRAINT log_checkpoints_batch_id_fkey
        FOREIGN KEY (batch_id) REFERENCES commitments (batch_id);
END $$
"""

VALIDATE = ["ALTER TABLE log_checkpoints VALIDATE CONSTRAINT log_checkpoints_commitment_fkey"]
