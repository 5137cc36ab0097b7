"""Schema of the x402 payment engine (REFERENCE.md §5.1, with the fixes of docs/payments.md).

Every table is keyed by ``tenant_id`` first in the database (docs/scaling.md, migration 0003):
the primary keys are ``(tenant_id, <id>)`` and the foreign keys between these tables are
``(tenant_id, <id>)`` pairs declared in SQL, so the Django foreign keys carry
``db_constraint=False``. Django's state keeps the single-column id as each model's primary key
(ids are unique in practice), and a plain index on it serves reads by id.

Intents, batches and nonce reservations are plain Django tables: the submission hot path writes
them with the statements in ``payments/sql``; the ORM is used by the admin, batch assembly and
reads. Sequence numbers come from ``sequence_counters`` with ``stream_kind = 3`` (ADR 0001).
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F
from django.utils import timezone

from payments.addresses import AccountKey


def batch_foreign_key(*, related_name: str) -> models.ForeignKey[PaymentBatch, PaymentBatch]:
    """A required reference to a batch; the database's is ``(tenant_id, batch_id)`` (migration 0003)."""
    return models.ForeignKey(
        "PaymentBatch", on_delete=models.PROTECT, related_name=related_name, db_column="batch_id", db_constraint=False
    )


class IntentStatus(models.TextChoices):
    PENDING = "pending"
    SEQUENCED = "sequenced"
    BATCHED = "batched"
    SETTLED = "settled"
    EXPIRED = "expired"
    FAILED = "failed"


class BatchStatus(models.TextChoices):
    PENDING = "pending"
    COMMITTED = "committed"
    SUBMITTED = "submitted"
    SETTLED = "settled"
    FAILED = "failed"


class PaymentBatch(models.Model):
    """A Merkle batch of sequenced intents of one ``(tenant, store, network)``."""

    batch_id = models.UUIDField(primary_key=True)
    status = models.CharField(max_length=16, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    tenant_id = models.UUIDField()
    store_id = models.UUIDField()
    network = models.CharField(max_length=32)
    chain_id = models.BigIntegerField()
    payment_count = models.IntegerField()
    total_amounts = models.JSONField(default=list, help_text="[{asset, total_amount, payment_count}]")
    merkle_root = models.BinaryField(null=True)
    prev_state_root = models.BinaryField(null=True)
    new_state_root = models.BinaryField(null=True)
    sequence_start = models.BigIntegerField()
    sequence_end = models.BigIntegerField()
    tx_hash = models.CharField(max_length=66, null=True, blank=True)
    block_number = models.BigIntegerField(null=True, blank=True)
    gas_used = models.BigIntegerField(null=True, blank=True)
    failure_reason = models.TextField(blank=True, default="")
    # A batch is created committed: batch assembly passes one instant for both (auto_now_add
    # took its own, a few microseconds after committed_at).
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    committed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "x402_payment_batches"
        indexes = [
            models.Index(fields=["tenant_id", "store_id", "network"], name="x402_batches_stream"),
            models.Index(fields=["status"], name="x402_batches_status"),
        ]
        constraints = [
            models.UniqueConstraint(  # one transaction settles one batch (docs/payments.md)
                fields=["tenant_id", "chain_id", "tx_hash"],
                name="x402_batches_one_per_tx",
                condition=models.Q(tx_hash__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"batch {self.batch_id} ({self.status}, {self.payment_count})"


class PaymentIntent(models.Model):
    """A signed payment intent; sequenced in the stream's x402 kind at submission."""

    intent_id = models.UUIDField(primary_key=True)
    x402_version = models.IntegerField(default=1)
    status = models.CharField(max_length=16, choices=IntentStatus.choices, default=IntentStatus.PENDING)
    tenant_id = models.UUIDField()
    store_id = models.UUIDField()
    source_agent_id = models.UUIDField()
    agent_key_id = models.BigIntegerField()
    payer_address = models.CharField(max_length=66)
    payee_address = models.CharField(max_length=66)
    amount = models.BigIntegerField()
    asset = models.CharField(max_length=16)
    network = models.CharField(max_length=32)
    chain_id = models.BigIntegerField()
    token_address = models.CharField(max_length=66, null=True, blank=True)
    created_at_unix = models.BigIntegerField()
    valid_until = models.BigIntegerField()
    nonce = models.BigIntegerField()
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_hash = models.BinaryField(help_text="SHA-256 of the normalised request: idempotency conflicts.")
    resource_uri = models.TextField(null=True, blank=True)
    description = models.TextField(null=True, blank=True)
    order_id = models.CharField(max_length=1024, null=True, blank=True)
    merchant_id = models.CharField(max_length=1024, null=True, blank=True)
    signing_hash = models.BinaryField()
    payer_signature = models.BinaryField()
    payer_public_key = models.BinaryField(null=True)
    sequence_number = models.BigIntegerField(null=True)
    sequenced_at = models.DateTimeField(null=True)
    batch = models.ForeignKey(
        PaymentBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="intents",
        db_column="batch_id",
        db_constraint=False,  # (tenant_id, batch_id) in SQL: migration 0003
    )
    tx_hash = models.CharField(max_length=66, null=True, blank=True)
    block_number = models.BigIntegerField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "x402_payment_intents"
        indexes = [
            models.Index(fields=["tenant_id", "store_id", "created_at"], name="x402_intents_stream_created"),
            # The list's order, newest first read backwards (payments.selectors.payment_intent_list;
            # its ``before`` cursor starts the scan at the cursor's position), and the same order
            # within one account of each address filter, which matches the account in any
            # spelling (AccountKey: payments/addresses.py). Migration 0010.
            models.Index(
                fields=["tenant_id", "created_at", "sequence_number", "intent_id"], name="x402_intents_tenant_created"
            ),
            models.Index(
                F("tenant_id"),
                AccountKey("payer_address"),
                F("created_at"),
                F("sequence_number"),
                F("intent_id"),
                name="x402_intents_payer_account",
            ),
            models.Index(
                F("tenant_id"),
                AccountKey("payee_address"),
                F("created_at"),
                F("sequence_number"),
                F("intent_id"),
                name="x402_intents_payee_account",
            ),
            models.Index(
                fields=["tenant_id", "store_id", "network", "sequence_number"],
                name="x402_intents_ready",
                condition=models.Q(status="sequenced"),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "store_id", "idempotency_key"],
                name="x402_intents_idempotency_key",
                condition=models.Q(idempotency_key__isnull=False),
            ),
            models.UniqueConstraint(
                fields=["tenant_id", "store_id", "sequence_number"],
                name="x402_intents_sequence",
                condition=models.Q(sequence_number__isnull=False),
            ),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="x402_intents_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(valid_until__gte=models.F("created_at_unix")), name="x402_intents_valid_window"
            ),
        ]

    def __str__(self) -> str:
        return f"intent {self.intent_id} #{self.sequence_number} ({self.status})"


class NonceReservation(models.Model):
    """A used nonce of one payer in one tenant, across its stores; reserved with its intent.

    ``payer_address`` is the payer's account, ``payments.addresses.address_key`` (``0x`` and
    lower-case hex), not the spelling the intent carries: one account, one nonce space. The
    store is outside the signed hash, so a nonce is the tenant's (migration 0006): one signed
    payment is one intent in the tenant, not one per store. ``store_id`` is where it was used.
    """

    pk = models.CompositePrimaryKey("tenant_id", "payer_address", "nonce")
    tenant_id = models.UUIDField()
    store_id = models.UUIDField()
    payer_address = models.CharField(max_length=66)
    nonce = models.BigIntegerField()
    intent = models.ForeignKey(
        PaymentIntent,
        on_delete=models.CASCADE,
        db_column="intent_id",
        db_constraint=False,  # (tenant_id, intent_id) in SQL: migration 0003
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        db_table = "x402_nonce_tracking"

    def __str__(self) -> str:
        return f"{self.payer_address} nonce {self.nonce}"


class PayerAccount(models.Model):
    """The agents of a tenant that may pay from one payer account (ADR 0006, "Payer accounts").

    ``payer_account`` is ``payments.addresses.address_key`` of the address. The first intent
    sequenced for an account holds it for its agent (``payments/sql/insert_intent.sql``);
    another agent's intent is refused 403 ``payer_account_held`` until an operator grants that
    agent the account (``manage.py payer_account``), so no agent can spend another's nonces.
    ``bound_by`` names what created the row: the first intent, a migration or an operator.
    """

    pk = models.CompositePrimaryKey("tenant_id", "payer_account")
    tenant_id = models.UUIDField()
    payer_account = models.CharField(max_length=66)
    agent_ids = ArrayField(models.UUIDField())
    bound_at = models.DateTimeField()
    bound_by = models.CharField(max_length=200)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "x402_payer_accounts"

    def __str__(self) -> str:
        return f"{self.payer_account} ({len(self.agent_ids)} agent{'s' if len(self.agent_ids) != 1 else ''})"


class AttemptOutcome(models.TextChoices):
    SUBMITTED = "submitted"
    REPLACED = "replaced"
    CONFIRMED = "confirmed"
    ERROR = "error"
    DEAD = "dead", "dead (before x402_settlement_dead_letters; migrated to a dead letter)"


class SettlementAttempt(models.Model):
    """One try to settle a batch on chain: the per-try history (dead letters: see below)."""

    batch = batch_foreign_key(related_name="attempts")
    tenant_id = models.UUIDField(help_text="The batch's tenant (the distribution key; docs/scaling.md).")
    attempt = models.IntegerField()
    backend = models.CharField(max_length=16)
    outcome = models.CharField(max_length=16, choices=AttemptOutcome.choices)
    tx_hash = models.CharField(max_length=66, null=True, blank=True)
    tx_nonce = models.BigIntegerField(null=True, blank=True)
    max_fee_per_gas = models.BigIntegerField(null=True, blank=True)
    raw_transaction = models.BinaryField(
        null=True, blank=True, help_text="The signed transaction, kept before it is broadcast (sent again on a retry)."
    )
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "x402_settlement_attempts"
        indexes = [models.Index(fields=["batch", "attempt"], name="x402_attempts_batch")]

    def __str__(self) -> str:
        return f"{self.batch_id} attempt {self.attempt}: {self.outcome}"


class SettlementDeadLetterStatus(models.TextChoices):
    OPEN = "open", "open (waiting for an operator)"
    REDRIVEN = "redriven", "re-driven (settlement enqueued again)"


class SettlementDeadLetter(models.Model):
    """A batch whose settlement gave up (ADR 0012); an operator re-drives it from the admin.

    At most one ``open`` entry per batch. Re-driving closes the entry and enqueues the
    settlement again; a new failure opens a new entry, so the rows are the batch's history.
    """

    id = models.BigAutoField(primary_key=True)
    batch = batch_foreign_key(related_name="dead_letters")
    tenant_id = models.UUIDField()
    store_id = models.UUIDField()
    status = models.CharField(
        max_length=16, choices=SettlementDeadLetterStatus.choices, default=SettlementDeadLetterStatus.OPEN
    )
    attempts = models.IntegerField(help_text="Task runs before giving up.")
    error_message = models.TextField()
    tx_hash = models.CharField(max_length=66, null=True, blank=True, help_text="Last transaction sent, if any.")
    created_at = models.DateTimeField()
    redriven_at = models.DateTimeField(null=True, blank=True)
    redriven_by = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        db_table = "x402_settlement_dead_letters"
        verbose_name = "x402 settlement dead letter"
        verbose_name_plural = "x402 settlement dead letters"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "batch"], name="x402_dead_letter_one_open", condition=models.Q(status="open")
            ),
        ]
        indexes = [models.Index(fields=["status", "id"], name="x402_dead_letter_status")]

    def __str__(self) -> str:
        return f"dead letter {self.id}: batch {self.batch_id} ({self.status})"
