"""``rejected_events_log``: the reference's name for the rejection log, as a read-only view over
``rejected_events``, so the reference's runbook (``SELECT COUNT(*) FROM rejected_events_log``)
and ad-hoc operator queries work. Columns are the reference's where ours map onto them (the
versions of a version conflict are read out of its message, ``expected N, actual M``); the
ones we do not record are NULL, and ``stream_kind``/``request_id`` are added. The event body
(which holds the payload) is not exposed: ``entity_type``/``entity_id`` are read out of it, and
left NULL for a body PostgreSQL's jsonb cannot hold (a U+0000 escape, the reason such an event
was rejected), so selecting any column never fails."""

from django.db import migrations

CREATE_VIEW = r"""
CREATE VIEW rejected_events_log AS
SELECT
    r.rejection_id AS id,
    r.event_id,
    NULL::bigint AS sequence_number,
    r.tenant_id,
    r.store_id,
    body.doc ->> 'entity_type' AS entity_type,
    body.doc ->> 'entity_id' AS entity_id,
    r.reason,
    r.message,
    substring(r.message FROM '^expected (\d{1,18}), actual \d+$')::bigint AS expected_version,
    substring(r.message FROM '^expected \d+, actual (\d{1,18})$')::bigint AS actual_version,
    r.rejected_at,
    NULL::uuid AS rejection_event_id,
    r.stream_kind,
    r.request_id
FROM rejected_events r
CROSS JOIN LATERAL (
    SELECT CASE WHEN position('\u0000' IN convert_from(r.body, 'UTF8')) = 0
                THEN convert_from(r.body, 'UTF8')::jsonb END AS doc
) AS body
"""

DROP_VIEW = "DROP VIEW rejected_events_log"


class Migration(migrations.Migration):
    dependencies = [("events", "0005_dead_letter_messages_without_sql")]

    operations = [migrations.RunSQL(CREATE_VIEW, reverse_sql=DROP_VIEW)]
