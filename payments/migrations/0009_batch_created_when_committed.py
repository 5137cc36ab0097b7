"""A batch's timestamps in their order: created = committed <= submitted <= settled.

Batch assembly created every batch with ``committed_at`` taken a few microseconds before
``auto_now_add`` took ``created_at``, so each read as committed before it was created; and an
operator's record that settled a committed batch in one call (``tx_hash`` and
``block_number`` together) left ``submitted_at`` empty. The model now takes ``created_at``
from batch assembly, settlement fills ``submitted_at`` when it is empty, and rows already
written are put right the same way.
"""

import django.utils.timezone
from django.db import migrations, models

TIMESTAMPS_IN_ORDER = """
UPDATE x402_payment_batches SET created_at = committed_at WHERE committed_at < created_at;
UPDATE x402_payment_batches SET submitted_at = settled_at WHERE submitted_at IS NULL AND settled_at IS NOT NULL;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0008_payer_accounts"),
    ]

    operations = [
        migrations.AlterField(
            model_name="paymentbatch",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
        ),
        migrations.RunSQL(TIMESTAMPS_IN_ORDER, migrations.RunSQL.noop),
    ]
