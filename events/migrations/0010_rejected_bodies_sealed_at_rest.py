"""Bodies of rejected legacy events sealed at rest like accepted payloads (docs/encryption.md).

``rejected_events`` gains ``body_format`` (0 plain, 1 ``SSE1``; existing rows are plain),
``body_key_id`` and the entity named by the event in clear. ``rejected_events_log`` reads the
entity from those columns, and out of the body only for plain rows written before them, so
selecting any of its columns still never fails. Adding the columns rewrites no row."""

from django.db import migrations

ADD_COLUMNS = """
ALTER TABLE rejected_events
    ADD COLUMN body_format smallint NOT NULL DEFAULT 0 CHECK (body_format IN (0, 1)),
    ADD COLUMN body_key_id smallint NULL CHECK (body_format = 0 OR body_key_id IS NOT NULL),
    ADD COLUMN entity_type text NULL,
    ADD COLUMN entity_id text NULL;
"""
DROP_COLUMNS = """
ALTER TABLE rejected_events
    DROP COLUMN body_format, DROP COLUMN body_key_id, DROP COLUMN entity_type, DROP COLUMN entity_id;
"""

_VIEW = r"""
CREATE OR REPLACE VIEW rejected_events_log AS
SELECT
    r.rejection_id AS id,
    r.event_id,
    NULL::bigint AS sequence_number,
    r.tenant_id,
    r.store_id,
    {entity_type} AS entity_type,
    {entity_id} AS entity_id,
    r.reason,
    r.message,
    substring(r.message FROM '^expected (\d{{1,18}}), actual \d+$')::bigint AS expected_version,
    substring(r.message FROM '^expected \d+, actual (\d{{1,18}})$')::bigint AS actual_version,
    r.rejected_at,
    NULL::uuid AS rejection_event_id,
    r.stream_kind,
    r.request_id
FROM rejected_events r
CROSS JOIN LATERAL (
    SELECT CASE WHEN {plain} AND position('\u0000' IN convert_from(r.body, 'UTF8')) = 0
                THEN convert_from(r.body, 'UTF8')::jsonb END AS doc
) AS body
"""
CREATE_VIEW = _VIEW.format(
    entity_type="coalesce(r.entity_type, body.doc ->> 'entity_type')",
    entity_id="coalesce(r.entity_id, body.doc ->> 'entity_id')",
    plain="r.body_format = 0",
)
PREVIOUS_VIEW = "DROP VIEW rejected_events_log;\n" + _VIEW.format(
    entity_type="body.doc ->> 'entity_type'", entity_id="body.doc ->> 'entity_id'", plain="true"
)


class Migration(migrations.Migration):
    dependencies = [("events", "0009_entity_state_sealed_at_rest")]

    operations = [
        migrations.RunSQL(ADD_COLUMNS, reverse_sql=DROP_COLUMNS),
        migrations.RunSQL(CREATE_VIEW, reverse_sql=PREVIOUS_VIEW),
    ]
