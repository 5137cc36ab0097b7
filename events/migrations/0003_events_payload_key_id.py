"""Payload encryption at rest (docs/encryption.md): which key sealed a row (NULL for plaintext rows).

``payload_format`` already distinguishes plain JSON (0) from ``SSE1`` blobs (1); the key id lets
``reencrypt_payloads`` find the rows not yet on a tenant's newest key.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("events", "0002_ves_events")]

    operations = [
        migrations.RunSQL(
            [
                "ALTER TABLE events ADD COLUMN payload_key_id smallint",
                "ALTER TABLE events ADD CONSTRAINT events_payload_key_id_matches_format "
                "CHECK ((payload_format = 0 AND payload_key_id IS NULL) OR (payload_format = 1 AND payload_key_id >= 1))",
            ],
            [
                "ALTER TABLE events DROP CONSTRAINT events_payload_key_id_matches_format",
                "ALTER TABLE events DROP COLUMN payload_key_id",
            ],
        )
    ]
