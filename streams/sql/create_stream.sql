-- First write to a stream: register the tenant (bootstrap admins may write to new tenants),
-- the store, and a zero counter. All three are idempotent inserts; a tenant created here gets
-- its `tenant.create` audit row in the same statement (as tenants.services.tenant_ensure
-- writes it for keys and schemas), naming the writing credential and the stream kind whose
-- first write made it.
-- Index: primary keys of tenants, stores, sequence_counters. Locks: inserted rows only.
-- Rows: none returned.
WITH new_tenant AS (
    INSERT INTO tenants (id, name, is_active, created_at)
    VALUES (%(tenant_id)s, 'tenant ' || %(tenant_id)s::text, true, now())
    ON CONFLICT (id) DO NOTHING
    RETURNING id, name
), tenant_audited AS (
    INSERT INTO audit_log (at, actor, action, target_type, target_id, tenant_id, detail)
    SELECT now(), %(actor)s, 'tenant.create', 'tenant', id::text, id,
           jsonb_build_object('name', name, 'is_active', true, 'via', 'first write',
                              'store_id', %(store_id)s::text, 'stream_kind', %(stream_kind)s::int)
      FROM new_tenant
), new_store AS (
    INSERT INTO stores (tenant_id, store_id, name, created_at)
    VALUES (%(tenant_id)s, %(store_id)s, '', now())
    ON CONFLICT (tenant_id, store_id) DO NOTHING
)
INSERT INTO sequence_counters (tenant_id, store_id, stream_kind, current_sequence, updated_at)
VALUES (%(tenant_id)s, %(store_id)s, %(stream_kind)s, 0, now())
ON CONFLICT (tenant_id, store_id, stream_kind) DO NOTHING
