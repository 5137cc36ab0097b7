-- A tenant's override of SCHEMA_VALIDATION_MODE (behind the in-process mode cache).
-- Index: tenant_schema_settings primary key. Locks: none. Rows: zero or one.
SELECT validation_mode
FROM tenant_schema_settings
WHERE tenant_id = %(tenant_id)s
