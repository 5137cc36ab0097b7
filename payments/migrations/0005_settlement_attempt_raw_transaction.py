"""A settlement attempt keeps the signed transaction it is about to broadcast.

The ``evm`` backend records the attempt (hash, nonce, raw bytes) and marks the batch submitted
before it sends, so a send that times out, or a worker killed after the send, leaves the
transaction to look for and to broadcast again, never a batch without a transaction for which a
retry signs a second one with a fresh nonce (an outside audit saw one batch settled twice).
Nullable: attempts before this column, errors and record-backend rows have none.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("payments", "0004_nonce_reservations_by_account")]

    operations = [
        migrations.AddField(
            model_name="settlementattempt",
            name="raw_transaction",
            field=models.BinaryField(
                blank=True,
                null=True,
                help_text="The signed transaction, kept before it is broadcast (sent again on a retry).",
            ),
        ),
    ]
