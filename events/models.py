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


class Event(models.Model):
    """A sequenced legacy event. Partitioned by ``HASH (tenant_id)`` into 16 partitions."""

    pk = models.CompositePrimaryKey("tenant_id", "store_id", "sequence_number")
    tenant_id = models.UUIDField()
    store_id = models.UUIDField()
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

    class Meta:
        managed = False
        db_table = "events"

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.store_id}#{self.sequence_number}"


class SequenceCounter(models.Model):
    """The head of one stream kind of a ``(tenant, store)``; the row lock serialises writers."""

    pk = models.CompositePrimaryKey("tenant_id", "store_id", "stream_kind")
    tenant_id = models.UUIDField()
    store_id = models.UUIDField()
    stream_kind = models.SmallIntegerField(choices=StreamKindChoices.choices)
    current_sequence = models.BigIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "sequence_counters"

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.store_id}/{self.stream_kind}={self.current_sequence}"


class EntityVersion(models.Model):
    """Optimistic-concurrency version of an entity within one stream kind."""

    pk = models.CompositePrimaryKey("tenant_id", "store_id", "stream_kind", "entity_type", "entity_id")
    tenant_id = models.UUIDField()
    store_id = models.UUIDField()
    stream_kind = models.SmallIntegerField(choices=StreamKindChoices.choices)
    entity_type = models.CharField(max_length=128)
    entity_id = models.CharField(max_length=512)
    version = models.BigIntegerField()
    last_sequence = models.BigIntegerField()
    updated_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "entity_versions"

    def __str__(self) -> str:
        return f"{self.entity_type}/{self.entity_id}@{self.version}"


class CommandDedupe(models.Model):
    """A reserved ``command_id`` of a stream kind; reserved only by accepted events."""

    pk = models.CompositePrimaryKey("tenant_id", "store_id", "stream_kind", "command_id")
    tenant_id = models.UUIDField()
    store_id = models.UUIDField()
    stream_kind = models.SmallIntegerField(choices=StreamKindChoices.choices)
    command_id = models.UUIDField()
    event_id = models.UUIDField()
    created_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "command_dedupe"

    def __str__(self) -> str:
        return str(self.command_id)


class RejectedEvent(models.Model):
    """The ingest-side dead letters: every per-event rejection, with the body received."""

    pk = models.CompositePrimaryKey("tenant_id", "rejection_id")
    tenant_id = models.UUIDField()
    rejection_id = models.BigIntegerField()
    store_id = models.UUIDField()
    stream_kind = models.SmallIntegerField(choices=StreamKindChoices.choices)
    event_id = models.UUIDField(null=True)
    reason = models.CharField(max_length=64)
    message = models.TextField()
    body = models.BinaryField()
    request_id = models.CharField(max_length=128)
    rejected_at = models.DateTimeField()

    class Meta:
        managed = False
        db_table = "rejected_events"

    def __str__(self) -> str:
        return f"{self.reason} {self.event_id}"
