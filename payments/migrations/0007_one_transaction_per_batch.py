"""One transaction settles one batch (docs/payments.md, "Settlement").

An operator's settlement record (``POST /api/v1/x402/batches/settle``) accepted a transaction
hash already recorded for another batch of the tenant, so two batches read as settled by one
transaction. A partial unique key on ``(tenant_id, chain_id, tx_hash)`` now refuses the second
(409 ``settlement_tx_used``), concurrent records included. Where a database holds such pairs
already, the migration stops and names them: which batch the transaction really settled is an
operator's decision, not the migration's.
"""

from django.db import migrations, models

REFUSE_EXISTING_PAIRS = """
DO $$
DECLARE
    pairs text;
BEGIN
    SELECT string_agg(format('tenant %s chain %s tx %s: batches %s', tenant_id, chain_id, tx_hash, batches), '; ')
      INTO pairs
      FROM (SELECT tenant_id, chain_id, tx_hash, string_agg(batch_id::text, ', ' ORDER BY batch_id) AS batches
              FROM x402_payment_batches
             WHERE tx_hash IS NOT NULL
             GROUP BY tenant_id, chain_id, tx_hash
            HAVING count(*) > 1) AS shared;
    IF pairs IS NOT NULL THEN
        RAISE EXCEPTION 'x402 batches share a settlement transaction; set the wrong ones'' tx_hash right first: %', pairs;
    END IF;
END
$$
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0006_nonce_reservations_per_tenant"),
    ]

    operations = [
        migrations.RunSQL(REFUSE_EXISTING_PAIRS, migrations.RunSQL.noop),
        migrations.AddConstraint(
            model_name="paymentbatch",
            constraint=models.UniqueConstraint(
                condition=models.Q(("tx_hash__isnull", False)),
                fields=("tenant_id", "chain_id", "tx_hash"),
                name="x402_batches_one_per_tx",
            ),
        ),
    ]
