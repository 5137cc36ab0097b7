"""The anchor's views: DRF ``APIView``s, orjson in and out, one statement each on a pooled connection."""

from __future__ import annotations

import os
import threading
import uuid
import zlib
from typing import Any

import orjson
from psycopg_pool import ConnectionPool
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loadtest.anchor import sql

_pool: ConnectionPool | None = None
_pool_lock = threading.Lock()


def pool() -> ConnectionPool:
    """This process's pool (made on first use, after gunicorn forked the worker)."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                size = max(1, int(os.environ.get("WEB_THREADS", "8")))
                _pool = ConnectionPool(
                    os.environ["ANCHOR_DATABASE_URL"],
                    min_size=size,
                    max_size=size,
                    kwargs={"autocommit": True},
                    name="anchor",
                    open=True,
                )
    return _pool


def _row(row: tuple[int, uuid.UUID, bytes]) -> dict[str, Any]:
    """A stored row as JSON, its body spliced in as stored (no re-parse)."""
    return {"sequence_number": row[0], "event_id": row[1], "body": orjson.Fragment(row[2])}


class ReadyApi(APIView):
    def get(self, request: Request) -> Response:
        with pool().connection() as conn:
            conn.execute("SELECT 1")
        return Response({"status": "ready"})


class IngestApi(APIView):
    """POST a legacy or VES ingest body: parsed, stored as one row by one INSERT."""

    def post(self, request: Request) -> Response:
        body = request.body  # read first: Django keeps it, DRF's parser then reads the kept copy
        events = request.data.get("events") if isinstance(request.data, dict) else None
        if not events or not isinstance(events, list):
            raise ParseError("a non-empty events list is required")
        first = events[0]
        event_id = first.get("event_id") or first.get("eventId") if isinstance(first, dict) else None
        if not event_id:
            raise ParseError("the first event has no event id")
        with pool().connection() as conn:
            row = conn.execute(sql.INSERT, {"event_id": event_id, "events": len(events), "body": body}).fetchone()
        assert row is not None
        return Response({"events_accepted": len(events), "head_sequence": row[0]})


class HeadApi(APIView):
    def get(self, request: Request) -> Response:
        with pool().connection() as conn:
            row = conn.execute(sql.SELECT_HEAD).fetchone()
        assert row is not None
        return Response({"head_sequence": row[0]})


class EventApi(APIView):
    def get(self, request: Request, event_id: uuid.UUID) -> Response:
        with pool().connection() as conn:
            row = conn.execute(sql.SELECT_BY_EVENT_ID, {"event_id": event_id}).fetchone()
        if row is None:
            return Response({"detail": "not found"}, status=404)
        return Response(_row(row))


class PageApi(APIView):
    """A range (``?from=&limit=``) or an entity's history (``?limit=``: a page from a fixed row)."""

    def get(self, request: Request, entity_id: str | None = None) -> Response:
        limit = min(1000, max(1, int(request.query_params.get("limit", "100"))))
        if entity_id is None:
            from_id = max(1, int(request.query_params.get("from", "1")))
        else:
            from_id = 1 + zlib.crc32(entity_id.encode()) % 900
        with pool().connection() as conn:
            rows = conn.execute(sql.SELECT_PAGE, {"from_id": from_id, "limit": limit}).fetchall()
        return Response({"events": [_row(r) for r in rows], "count": len(rows)})
