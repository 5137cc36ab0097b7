"""Nonce reservations are the tenant's, not the stream's (docs/payments.md, "Nonces").

The x402 signing hash covers neither tenant nor store (REFERENCE.md §5.2), so a payment signed
once and sent to a second store of the same tenant passed there too: its nonce was reserved per
``(tenant, store, payer account)``. The primary key of ``x402_nonce_tracking`` becomes
``(tenant_id, payer_address, nonce)``: a payer's nonce is used once in its tenant, whichever store
takes it, and the same signed body in another store is 409 ``payment_signature_reused``.
``store_id`` stays, as where the nonce was used.

Where one account already holds a nonce in several stores of a tenant (the defect this fixes),
the earliest reservation stays and the others go: the intents they reserved for stay as they
are, and the nonce stays used. The table holds only the last 48 h (``nonces_prune``), so the
statements are short; ``EXCLUSIVE`` lets reads through and makes writes wait for them, so no
reservation slips in between the clean-up and the new key. A process still on the previous
release inserts with ``ON CONFLICT DO NOTHING`` and no conflict target, so it obeys the new key
at once. Reversing restores the per-store key (every row set unique per tenant is unique per
store too).
"""

from django.db import migrations, models

HOLD_WRITES = "LOCK TABLE x402_nonce_tracking IN EXCLUSIVE MODE"

DROP_DUPLICATES_ACROSS_STORES = """
DELETE FROM x402_nonce_tracking
 WHERE ctid IN (
       SELECT ctid
         FROM (SELECT ctid,
                      row_number() OVER (
                          PARTITION BY tenant_id, payer_address, nonce
                          ORDER BY created_at, store_id
                      ) AS place
                 FROM x402_nonce_tracking) AS reservations
        WHERE place > 1)
"""

KEY_PER_TENANT = """
ALTER TABLE x402_nonce_tracking DROP CONSTRAINT x402_nonce_tracking_pkey,
    ADD CONSTRAINT x402_nonce_tracking_pkey PRIMARY KEY (tenant_id, payer_address, nonce)
"""
KEY_PER_STREAM = """
ALTER TABLE x402_nonce_tracking DROP CONSTRAINT x402_nonce_tracking_pkey,
    ADD CONSTRAINT x402_nonce_tracking_pkey PRIMARY KEY (tenant_id, store_id, payer_address, nonce)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0005_settlement_attempt_raw_transaction"),
    ]

    operations = [  # one transaction
        migrations.RunSQL(HOLD_WRITES, migrations.RunSQL.noop),
        migrations.RunSQL(DROP_DUPLICATES_ACROSS_STORES, migrations.RunSQL.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(KEY_PER_TENANT, KEY_PER_STREAM)],
            state_operations=[
                migrations.AlterField(
                    model_name="noncereservation",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "tenant_id",
                        "payer_address",
                        "nonce",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
            ],
        ),
    ]
