"""Payer accounts held by agents (ADR 0006, "Payer accounts").

Any agent of a tenant could submit an intent naming another agent's payer address and so take
the nonces that agent was about to use. ``x402_payer_accounts`` now records which agents may pay
from each account: the first intent holds it for its agent, an operator grants others.

The rows are filled from the intents already sequenced: every agent that has paid from an
account keeps that right (a tenant that shared an account between agents keeps working), the
earliest intent's time is the account's ``bound_at``.
"""

from typing import Any

import django.contrib.postgres.fields
from django.db import migrations, models

from payments.sql import HOLD_PAYER_ACCOUNTS_FROM_INTENTS


def holders_from_intents(apps: Any, schema_editor: Any) -> None:
    """The holders of every account already used: ``manage.py payer_account --from-intents``'s
    statement (it only adds holders), run once here."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(HOLD_PAYER_ACCOUNTS_FROM_INTENTS, {"actor": "migration:payments.0008"})


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
        migrations.RunPython(holders_from_intents, migrations.RunPython.noop),
    ]
