"""Schema of the commitments app.

The table is created by raw SQL in migration ``0001`` (constraints the ORM cannot express);
this unmanaged model only lets the admin and tests read it. Services use ``commitments/sql``.
"""

from __future__ import annotations

from django.db import models


class Commitment(models.Model):
    """A sealed, contiguous sequence range of one stream (legacy or VES)."""

    batch_id = models.UUIDField(primary_key=True)
    tenant_id = models.UUIDField()
    store_id = models.UUIDField()
    stream_kind = models.SmallIntegerField()
    ves_version = models.IntegerField()
    tree_depth = models.IntegerField()
    leaf_count = models.IntegerField()
    padded_leaf_count = models.IntegerField()
    merkle_root = models.BinaryField()
    prev_state_root = models.BinaryField()
    new_state_root = models.BinaryField()
    sequence_start = models.BigIntegerField()
    sequence_end = models.BigIntegerField()
    committed_at = models.DateTimeField()
    chain_id = models.BigIntegerField(null=True)
    chain_tx_hash = models.BinaryField(null=True)
    chain_block_number = models.BigIntegerField(null=True)
    anchored_at = models.DateTimeField(null=True)
    # False: a link of the stream's chain (and log); True: a range a client asked for (ADR 0020).
    on_request = models.BooleanField(default=False)

    class Meta:
        managed = False
        db_table = "commitments"

    def __str__(self) -> str:
        return f"{self.batch_id} {self.tenant_id}/{self.store_id} {self.sequence_start}..{self.sequence_end}"
