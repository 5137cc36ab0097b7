"""Payer accounts held by agents (ADR 0006, "Payer accounts").

Any agent of a tenant could submit an intent naming another agent's payer address and so take
the nonces that agent was about to use. ``x402_payer_accounts`` now records which agents may pay
from each account: the first intent holds it for its agent, an operator grants others.

The rows are filled from the intents already sequenced: every agent that has paid from an
account keeps that right (a tenant that shared an account between agents keeps working), the
earliest intent's time is the account's ``bound_at``.
"""

import django.contrib.postgres.fields
from django.db import migrations, models

HOLDERS_FROM_INTENTS = """
INSERT INTO x402_payer_accounts (tenant_id, payer_account, agent_ids, bound_at, bound_by, updated_at)
SELECT tenant_id, payer_account,
       array_agg(source_agent_id ORDER BY first_at, source_agent_id),
       min(first_at), 'migration:payments.0008', now()
FROM (
    SELECT tenant_id,
           '0x' || lower(regexp_replace(payer_address, '^0[xX]', '')) AS payer_account,
           source_agent_id,
           min(coalesce(sequenced_at, created_at)) AS first_at
    FROM x402_payment_intents
    GROUP BY 1, 2, 3
) AS used
GROUP BY tenant_id, payer_account
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0007_one_transaction_per_batch"),
    ]

    operations = [
        migrations.CreateModel(
            name="PayerAccount",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "tenant_id", "payer_account", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("tenant_id", models.UUIDField()),
                ("payer_account", models.CharField(max_length=66)),
                ("agent_ids", django.contrib.postgres.fields.ArrayField(base_field=models.UUIDField(), size=None)),
                ("bound_at", models.DateTimeField()),
                ("bound_by", models.CharField(max_length=200)),
                ("updated_at", models.DateTimeField()),
            ],
            options={
                "db_table": "x402_payer_accounts",
            },
        ),
        migrations.RunSQL(HOLDERS_FROM_INTENTS, migrations.RunSQL.noop),
    ]
