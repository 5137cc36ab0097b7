-- The latest active schema version of each requested event type of one tenant (ingest hot path,
-- behind the in-process schema cache: runs once per distinct event type per cache lifetime).
-- Index: event_schemas_type_status (tenant_id, event_type, status). Locks: none.
-- Rows: at most one per requested event type.
SELECT DISTINCT ON (event_type) event_type, id, version, schema_json
FROM event_schemas
WHERE tenant_id = %(tenant_id)s
  AND event_type = ANY(%(event_types)b::text[])
  AND status = 'active'
ORDER BY event_type, version DESC
