"""Schema of the event store.

The tables are created by raw SQL in migration ``0001`` (hash-partitioned by tenant, with
constraints the ORM cannot express); these unmanaged models only let the admin and tests
read them. The ingest hot path never instantiates them: it uses ``events/sql``.
"""

from __future__ import annotations

from django.db import models


class StreamKindChoices(models.IntegerChoices):
    LEGACY = 1, "legacy"
    VES = 2, "ves"
    X402 = 3, "x402"


class EventStoreTable(models.Model):
    """The key columns every event-store table starts with: its rows belong to one ``(tenant, store)``.

    Unmanaged: migration ``0001`` creates these tables in raw SQL (see the module docstring).
    """

    tenant_id = models.UUIDField()
    store_id = models.UUIDField()

    class Meta:
        abstract = True
        managed = False


class Event(EventStoreTable):
    """A sequenced legacy event. Partitioned by ``HASH (tenant_id)`` into 16 partitions."""

    pk = models.CompositePrimaryKey("tenant_id", "store_id", "sequence_number")
    sequence_number = models.BigIntegerField()
    event_id = models.UUIDField()
    command_id = models.UUIDField(null=True)
    envelope_version = models.IntegerField()
    entity_type = models.CharField(max_length=128)
    entity_id = models.CharField(max_length=512)
    event_type = models.CharField(max_length=256)
    payload = models.BinaryField()
    payload_format = models.SmallIntegerField()
    payload_hash = models.BinaryField()
    envelope_hash = models.BinaryField()
    base_version = models.BigIntegerField(null=True)
    source_agent = models.UUIDField()
    signature = models.BinaryField(null=True)
    created_at = models.DateTimeField()
    sequenced_at = models.DateTimeField()

    class Meta(EventStoreTable.Meta):
        db_table = "events"

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.store_id}#{self.sequence_number}"


class SequenceCounter(EventStoreTable):
    """The head of one stream kind of a ``(tenant, store)``; the row lock serialises writers."""

    pk = models.CompositePrimaryKey("tenant_id", "store_id", "stream_kind")
    stream_kind = models.SmallIntegerField(choices=StreamKindChoices.choices)
    current_sequence = models.BigIntegerField()
    updated_at = models.DateTimeField()

    class Meta(EventStoreTable.Meta):
        db_table = "sequence_counters"

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.store_id}/{self.stream_kind}={self.current_sequence}"


class EntityVersion(EventStoreTable):
    """Optimistic-concurrency version of an entity within one stream kind."""

    pk = models.CompositePrimaryKey("tenant_id", "store_id", "stream_kind", "entity_type", "entity_id")
    stream_kind = models.SmallIntegerField(choices=StreamKindChoices.choices)
    entity_type = models.CharField(max_length=128)
    entity_id = models.CharField(max_length=512)
    version = models.BigIntegerField()
    last_sequence = models.BigIntegerField()
    updated_at = models.DateTimeField()

    class Meta(EventStoreTable.Meta):
        db_table = "entity_versions"

    def __str__(self) -> str:
        return f"{self.entity_type}/{self.entity_id}@{self.version}"


class CommandDedupe(EventStoreTable):
    """A reserved ``command_id`` of a stream kind; reserved only by accepted events."""

    pk = models.CompositePrimaryKey("tenant_id", "store_id", "stream_kind", "command_id")
    stream_kind = models.SmallIntegerField(choices=StreamKindChoices.choices)
    command_id = models.UUIDField()
    event_id = models.UUIDField()
    created_at = models.DateTimeField()

    class Meta(EventStoreTable.Meta):
        db_table = "command_dedupe"

    def __str__(self) -> str:
        return str(self.command_id)


class RejectedEvent(EventStoreTable):
    """The ingest-side dead letters: every per-event rejection, with the body received."""

    pk = models.CompositePrimaryKey("tenant_id", "rejection_id")
    rejection_id = models.BigIntegerField()
    stream_kind = models.SmallIntegerField(choices=StreamKindChoices.choices)
    event_id = models.UUIDField(null=True)
    reason = models.CharField(max_length=64)
    message = models.TextField()
    body = models.BinaryField()  # plain (body_format 0) or sealed (1): events/rejected_bodies.py
    body_format = models.SmallIntegerField()
    body_key_id = models.SmallIntegerField(null=True)
    # NULL: the event named no entity as a string (or the row predates the column).
    entity_type = models.TextField(null=True)  # noqa: DJ001
    entity_id = models.TextField(null=True)  # noqa: DJ001
    request_id = models.CharField(max_length=128)
    rejected_at = models.DateTimeField()

    class Meta(EventStoreTable.Meta):
        db_table = "rejected_events"

    def __str__(self) -> str:
        return f"{self.reason} {self.event_id}"


# =========================================================================================
# --- Projections, dead letters and the audit log: docs/projections.md ---------------------
# Managed tables (ordinary indexes, no partitions): the projection runner writes them with the
# SQL of events/sql/*projection*.sql and *dead_letter*.sql; the admin reads them.
# =========================================================================================
class ProjectionCheckpoint(models.Model):
    """How far a projection has consumed one stream: every event ``<= last_sequence`` is done.

    Updated in the same transaction as the projection's writes (exactly-once application).
    """

    pk = models.CompositePrimaryKey("tenant_id", "store_id", "projection")
    projection = models.CharField(max_length=64)
    tenant_id = models.UUIDField()
    store_id = models.UUIDField()
    stream_kind = models.SmallIntegerField(choices=StreamKindChoices.choices)
    last_sequence = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "projection_checkpoints"

    def __str__(self) -> str:
        return f"{self.projection} {self.tenant_id}/{self.store_id}@{self.last_sequence}"


class EntityState(models.Model):
    """Projection ``entity_state``: version, last event and merged state document of an entity."""

    pk = models.CompositePrimaryKey("tenant_id", "store_id", "entity_type", "entity_id")
    tenant_id = models.UUIDField()
    store_id = models.UUIDField()
    entity_type = models.CharField(max_length=128)
    entity_id = models.CharField(max_length=512)
    version = models.BigIntegerField()
    last_sequence = models.BigIntegerField()
    last_event_id = models.UUIDField()
    last_event_type = models.CharField(max_length=256)
    # The merged state: plain JSON in ``state``, or sealed at rest in ``state_sealed`` under
    # payload key ``state_key_id`` (events/projections/state_crypto.py); the other form is NULL.
    # Or, for an entity of one event, by reference: ``state_event_sequence`` names that event (its
    # ``last_sequence``) and the state is its payload merged into nothing; the three are NULL
    # (ADR 0036, events/projections/entity_state.py).
    state = models.JSONField(null=True)
    state_sealed = models.BinaryField(null=True)
    state_key_id = models.SmallIntegerField(null=True)
    state_event_sequence = models.BigIntegerField(null=True)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "entity_state"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state_sealed__isnull=True)
                | models.Q(state_key_id__isnull=False, state__isnull=True),
                name="entity_state_sealed_names_its_key",
            ),
            models.CheckConstraint(
                condition=models.Q(state_event_sequence__isnull=True)
                | models.Q(
                    version=1,
                    state_event_sequence=models.F("last_sequence"),
                    state__isnull=True,
                    state_sealed__isnull=True,
                    state_key_id__isnull=True,
                ),
                name="entity_state_by_reference_is_its_one_event",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_type}/{self.entity_id}@{self.version}"


class DeadLetterStatus(models.TextChoices):
    PENDING = "pending", "pending (will be retried)"
    PARKED = "parked", "parked (attempts exhausted)"
    RESOLVED = "resolved", "resolved (applied on retry)"
    DISCARDED = "discarded", "discarded by an operator"


class ProjectionDeadLetter(models.Model):
    """An event a projection's handler raised on; the projection went on past it.

    Keyed ``(tenant_id, id)`` in the database (docs/scaling.md, migration 0008); Django's state
    keeps ``id`` as the primary key (unique in practice) and a plain index on it serves reads by id.
    """

    id = models.BigAutoField(primary_key=True)
    projection = models.CharField(max_length=64)
    tenant_id = models.UUIDField()
    store_id = models.UUIDField()
    stream_kind = models.SmallIntegerField(choices=StreamKindChoices.choices)
    sequence_number = models.BigIntegerField()
    event_id = models.UUIDField()
    error_class = models.CharField(max_length=200)
    error_message = models.TextField()
    attempts = models.IntegerField()
    status = models.CharField(max_length=16, choices=DeadLetterStatus.choices)
    next_retry_at = models.DateTimeField(null=True)
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True)

    class Meta:
        db_table = "projection_dead_letters"
        verbose_name = "projection dead letter"
        verbose_name_plural = "projection dead letters"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant_id", "projection", "store_id", "sequence_number"], name="dead_letter_event_unique"
            ),
        ]
        indexes = [
            # The retry sweep and the dlq_size gauge only ever look at unresolved rows.
            models.Index(
                fields=["next_retry_at"],
                name="dead_letter_due_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["tenant_id", "status", "id"], name="dead_letter_tenant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.projection} {self.tenant_id}/{self.store_id}#{self.sequence_number} ({self.status})"
