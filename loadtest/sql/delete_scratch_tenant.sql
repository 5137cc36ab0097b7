-- Remove everything the database ceiling wrote: its tenant is fresh (uuid4 per measurement),
-- so nothing else refers to these rows. One statement; foreign keys are checked at its end.
-- Index: the leading tenant_id of each primary key (events/ves_events pruned to one partition).
-- Locks: the deleted rows. Rows: none returned.
WITH del_events AS (
    DELETE FROM events WHERE tenant_id = %(tenant_id)s
), del_ves AS (
    DELETE FROM ves_events WHERE tenant_id = %(tenant_id)s
), del_versions AS (
    DELETE FROM entity_versions WHERE tenant_id = %(tenant_id)s
), del_commands AS (
    DELETE FROM command_dedupe WHERE tenant_id = %(tenant_id)s
), del_counters AS (
    DELETE FROM sequence_counters WHERE tenant_id = %(tenant_id)s
), del_stores AS (
    DELETE FROM stores WHERE tenant_id = %(tenant_id)s
)
DELETE FROM tenants WHERE id = %(tenant_id)s
