"""Reads for the operator admin (pages and admin JSON): keyset pages and counters, never ``COUNT(*)``
over the event tables."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from events.payload_crypto import PayloadDecryptionError, StoredPayload, payload_open
from events.projections.registry import projections
from events.projections.selectors import ProjectionLag
from events.rejected_bodies import rejected_body_open
from events.selectors import stream_head_get
from events.sql import (
    ADMIN_AGENTS,
    ADMIN_OVERVIEW,
    ADMIN_STORES,
    ADMIN_TENANTS,
    SELECT_EVENTS_ADMIN,
    SELECT_REJECTED_ADMIN,
    SELECT_TENANT_STREAM_PANEL,
)
from sequencer_project.api.fields import BIGINT_MAX
from sequencer_project.db.replica import read_cursor
from streams.kinds import StreamKind

PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class AdminEventRow:
    sequence_number: int
    event_id: uuid.UUID
    entity_type: str
    entity_id: str
    event_type: str
    payload: str
    created_at: datetime
    sequenced_at: datetime


@dataclass(frozen=True, slots=True)
class AdminRejectionRow:
    rejection_id: int
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    stream_kind: str
    event_id: uuid.UUID | None
    reason: str
    message: str
    body: str
    request_id: str
    rejected_at: datetime


@dataclass(frozen=True, slots=True)
class TenantStreamRow:
    store_id: uuid.UUID
    stream_kind: str
    head: int
    last_activity: datetime


def _text(value: Any, limit: int = 400) -> str:
    raw = bytes(value) if isinstance(value, memoryview | bytes) else value
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    return text if len(text) <= limit else text[:limit] + "…"


def _kind(value: int) -> str:
    try:
        return StreamKind(value).name.lower()
    except ValueError:
        return str(value)


def _payload_text(tenant_id: uuid.UUID, store_id: uuid.UUID, row: tuple[Any, ...]) -> str:
    """The payload as the operator reads it: opened like every other reader, or why it cannot be."""
    sequence_number, event_id, entity_type, entity_id, event_type, payload, payload_format = row[:7]
    stored = StoredPayload(
        tenant_id, store_id, event_id, sequence_number, entity_type, entity_id, event_type, payload, payload_format
    )
    try:
        return _text(payload_open(stored))
    except PayloadDecryptionError as exc:
        return f"(sealed payload that cannot be opened: {exc})"


@dataclass(frozen=True, slots=True)
class AdminEventPage:
    """A page of the event browser: its events, the cursor of the next page (``None`` at the end)
    and, for a filter no index serves, the last sequence number this page searched."""

    events: list[AdminEventRow]
    next_after: int | None
    searched_through: int | None


# A filter no index serves (an event type, or an entity type or id without the other) reads the
# stream in order, so a rare value read the whole stream for one page (a growth audit: every
# event of the stream, ~0.5 s a page at a million). Such a page searches at most this many
# sequence numbers; the next page goes on from where it stopped.
SCAN_WINDOW = 100_000


def admin_event_page(
    *,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    after: int,
    entity_type: str | None,
    entity_id: str | None,
    event_type: str | None,
) -> AdminEventPage:
    """Up to ``PAGE_SIZE`` events after sequence ``after``; with a filter no index serves, only
    those in the next :data:`SCAN_WINDOW` sequence numbers."""
    by_entity = entity_type is not None and entity_id is not None
    windowed = not by_entity and (entity_type, entity_id, event_type) != (None, None, None)
    until = min(after + SCAN_WINDOW, BIGINT_MAX) if windowed else BIGINT_MAX
    params = {
        "tenant_id": tenant_id,
        "store_id": store_id,
        "after": after,
        "until": until,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "event_type": event_type,
        "limit": PAGE_SIZE + 1,
    }
    with read_cursor() as cursor:
        cursor.execute(SELECT_EVENTS_ADMIN, params)
        rows = cursor.fetchall()
    events = [
        AdminEventRow(r[0], r[1], r[2], r[3], r[4], _payload_text(tenant_id, store_id, r), r[7], r[8])
        for r in rows[:PAGE_SIZE]
    ]
    if len(rows) > PAGE_SIZE:
        return AdminEventPage(events, events[-1].sequence_number, events[-1].sequence_number if windowed else None)
    if not windowed:
        return AdminEventPage(events, None, None)
    head = stream_head_get(tenant_id=tenant_id, store_id=store_id)
    searched = max(after, min(until, head))  # a cursor past the head searched nothing below it
    return AdminEventPage(events, until if until < head else None, searched)


def admin_rejection_page(*, tenant_id: uuid.UUID | None, before: int) -> tuple[list[AdminRejectionRow], bool]:
    """Up to ``PAGE_SIZE`` ingest rejections with ``rejection_id < before``, newest first."""
    with read_cursor() as cursor:
        cursor.execute(SELECT_REJECTED_ADMIN, {"tenant_id": tenant_id, "before": before, "limit": PAGE_SIZE + 1})
        rows = cursor.fetchall()
    page = [
        AdminRejectionRow(r[0], r[1], r[2], _kind(r[3]), r[4], r[5], r[6], _rejected_body(r), r[8], r[9])
        for r in rows[:PAGE_SIZE]
    ]
    return page, len(rows) > PAGE_SIZE


def _rejected_body(row: tuple[Any, ...]) -> str:
    """The body of a ``select_rejected_admin.sql`` row as received, opened when sealed."""
    _, tenant_id, store_id, stream_kind, event_id, _, _, body, request_id, _, body_format, key_id = row
    try:
        opened = rejected_body_open(
            body,
            body_format=body_format,
            body_key_id=key_id,
            tenant_id=tenant_id,
            store_id=store_id,
            stream_kind=stream_kind,
            event_id=event_id,
            request_id=request_id,
        )
    except PayloadDecryptionError:
        return f"(sealed with payload key {key_id}, which no key of the tenant's ring opens)"
    return _text(opened)


@dataclass(frozen=True, slots=True)
class TenantStreamsPanel:
    """The tenant page's streams panel: each stream's head and last write (by store, then kind),
    and each registered projection's lag on the streams of its kind (by registration order, then
    store)."""

    streams: list[TenantStreamRow]
    lags: list[ProjectionLag]


def tenant_streams_panel_get(*, tenant_id: uuid.UUID) -> TenantStreamsPanel:
    """Heads, last writes and projection lags of every stream of a tenant, in one statement."""
    registered = projections()
    params = {
        "tenant_id": tenant_id,
        "projections": [p.name for p in registered],
        "projection_kinds": [int(p.stream_kind) for p in registered],
    }
    with read_cursor() as cursor:
        cursor.execute(SELECT_TENANT_STREAM_PANEL, params)
        rows = cursor.fetchall()
    streams: list[TenantStreamRow] = []
    lags: list[tuple[int, ProjectionLag]] = []
    previous: tuple[uuid.UUID, int] | None = None
    for store_id, kind, head, updated_at, projection, order, checkpoint, checkpoint_updated_at in rows:
        if previous != (store_id, kind):  # a stream's rows are adjacent (ORDER BY store, kind)
            previous = (store_id, kind)
            streams.append(TenantStreamRow(store_id, _kind(kind), int(head), updated_at))
        if projection is not None:
            lags.append((order, ProjectionLag(projection, store_id, int(head), int(checkpoint), checkpoint_updated_at)))
    lags.sort(key=lambda item: (item[0], item[1].store_id))
    return TenantStreamsPanel(streams=streams, lags=[lag for _, lag in lags])


# --- Admin JSON (docs/auth.md): one statement each, counters and summaries only ----------------


@dataclass(frozen=True, slots=True)
class AdminOverview:
    tenants: int
    stores: int
    agents: int
    api_keys: int
    active_api_keys: int
    total_head_sequence: int
    total_ves_head_sequence: int
    active_stores_24h: int
    max_projection_lag: int
    last_activity_at: datetime | None


@dataclass(frozen=True, slots=True)
class AdminTenant:
    tenant_id: uuid.UUID
    name: str
    active: bool
    created_at: datetime
    stores: int
    agents: int
    api_keys: int
    active_api_keys: int
    head_sequence: int
    ves_head_sequence: int
    active_stores_24h: int
    max_projection_lag: int
    last_key_at: datetime | None
    last_activity_at: datetime | None


@dataclass(frozen=True, slots=True)
class AdminStore:
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    created_at: datetime
    head_sequence: int
    ves_head_sequence: int
    last_projected_sequence: int
    projection_lag: int
    agent_count: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AdminAgent:
    """An agent; ``has_admin``/``has_write``/``all_stores`` are ``None`` without an API key."""

    tenant_id: uuid.UUID
    agent_id: uuid.UUID
    has_admin: bool | None
    has_write: bool | None
    all_stores: bool | None
    store_ids: list[uuid.UUID]
    api_keys: int
    active_api_keys: int
    first_key_at: datetime | None
    last_key_at: datetime | None
    signing_keys: int


def _admin_rows(
    sql: str,
    tenant_id: uuid.UUID | None,
    store_ids: Collection[uuid.UUID] | None,
    limit: int,
    offset: int | None = None,
) -> list[tuple[Any, ...]]:
    registered = projections()
    params = {
        "tenant_id": tenant_id,
        "store_ids": None if store_ids is None else sorted(store_ids),
        "limit": limit,
        "offset": offset or 0,
        "paged": offset is not None,
        "projections": [p.name for p in registered],
        "projection_kinds": [int(p.stream_kind) for p in registered],
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


# Scope of the four: ``tenant_id`` ``None`` is every tenant (the bootstrap admin); ``store_ids``
# ``None`` is every store of it, else a store-scoped caller's stores, which limit every figure,
# counts and sums included, in SQL (docs/auth.md, "Admin JSON").
# Paging of the three lists: ``offset`` ``None`` is the first ``limit`` rows in the reference
# dashboard's order (stores and agents: newest activity first, an order ingest moves); a number
# skips that many rows of a stable order on keys that never change (events/sql/admin_*.sql), so
# walking ``offset = 0, limit, 2 * limit, ...`` reaches every row once.


def admin_overview_get(*, tenant_id: uuid.UUID | None, store_ids: Collection[uuid.UUID] | None) -> AdminOverview:
    """Totals of one tenant, or of all when ``tenant_id`` is ``None`` (bootstrap admin)."""
    (row,) = _admin_rows(ADMIN_OVERVIEW, tenant_id, store_ids, 1)
    return AdminOverview(*row)


def admin_tenants_list(
    *, tenant_id: uuid.UUID | None, store_ids: Collection[uuid.UUID] | None, limit: int, offset: int | None = None
) -> list[AdminTenant]:
    return [AdminTenant(*row) for row in _admin_rows(ADMIN_TENANTS, tenant_id, store_ids, limit, offset)]


def admin_stores_list(
    *, tenant_id: uuid.UUID | None, store_ids: Collection[uuid.UUID] | None, limit: int, offset: int | None = None
) -> list[AdminStore]:
    return [AdminStore(*row) for row in _admin_rows(ADMIN_STORES, tenant_id, store_ids, limit, offset)]


def admin_agents_list(
    *, tenant_id: uuid.UUID | None, store_ids: Collection[uuid.UUID] | None, limit: int, offset: int | None = None
) -> list[AdminAgent]:
    """Agents with an API key or a signing key; for a store-scoped caller, only the agents with
    an API key scoped within its stores, their figures over those keys alone."""
    return [AdminAgent(*row) for row in _admin_rows(ADMIN_AGENTS, tenant_id, store_ids, limit, offset)]
