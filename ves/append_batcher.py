"""Single legacy appends grouped into batches per stream (``SequencerClient.batcher()``)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ves.arguments import uuid_text
from ves.legacy_events import prepared_legacy_event

if TYPE_CHECKING:
    from ves.client import SequencerClient

__all__ = ["AppendBatcher"]

Stream = tuple[str, str]


class AppendBatcher:
    """Collects legacy events and appends them in batches per ``(tenant_id, store_id)``.

    A stream's buffer is flushed when it holds ``max_events`` events, and by a background timer
    ``max_delay`` seconds after its first event. :meth:`close` (or leaving the ``with`` block)
    flushes the rest and waits for flushes under way. A stream's batches are sent one at a time,
    in the order their events were added, whichever thread flushes them.

    :meth:`add` checks the event first (it must be JSON and name its stream's ``tenant_id`` and
    ``store_id``): a bad one raises :class:`InvalidArgumentError` there and never joins a batch.
    Responses are kept in :attr:`results`. A failed flush, whatever it raised, is re-raised by
    the next :meth:`add`, :meth:`flush` or :meth:`close`; ``error.events`` lists its events and
    those of any flush that failed after it, none of which were appended.
    """

    def __init__(self, client: SequencerClient, *, max_events: int = 100, max_delay: float = 0.5) -> None:
        if max_events < 1 or max_delay <= 0:
            raise ValueError("max_events must be >= 1 and max_delay > 0")
        self.client = client
        self.max_events = max_events
        self.max_delay = max_delay
        self.results: list[dict[str, Any]] = []
        self._buffers: dict[Stream, list[dict[str, Any]]] = {}
        self._senders: dict[Stream, threading.Lock] = {}  # held while a stream's batch is taken and sent
        self._lock = threading.Lock()  # guards the fields; never held while sending
        self._timer: threading.Timer | None = None
        self._error: Exception | None = None
        self._failed_events: list[dict[str, Any]] = []

    def __enter__(self) -> AppendBatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def add(self, event: Mapping[str, Any]) -> None:
        self._raise_pending()
        prepared = prepared_legacy_event(event, "event")
        stream = (
            uuid_text(prepared.get("tenant_id"), "event.tenant_id"),
            uuid_text(prepared.get("store_id"), "event.store_id"),
        )
        with self._lock:
            buffer = self._buffers.setdefault(stream, [])
            buffer.append(prepared)
            full = len(buffer) >= self.max_events
            if not full and self._timer is None:
                self._timer = threading.Timer(self.max_delay, self._flush_on_timer)
                self._timer.daemon = True
                self._timer.start()
        if full:
            self._flush_stream(stream)
            self._raise_pending()

    def flush(self) -> None:
        """Send every buffered event, wait for flushes under way, then raise a kept failure."""
        with self._lock:
            streams = list(self._buffers.keys() | self._senders.keys())
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        for stream in streams:
            self._flush_stream(stream)
        self._raise_pending()

    def close(self) -> None:
        self.flush()

    def _flush_on_timer(self) -> None:
        with self._lock:
            self._timer = None
            streams = list(self._buffers)
        for stream in streams:
            self._flush_stream(stream)

    def _flush_stream(self, stream: Stream) -> None:
        """Send what ``stream``'s buffer holds. Its send lock is held from taking the buffer until
        the answer, so batches taken later (by the timer or a full buffer) are sent after it."""
        with self._lock:
            sender = self._senders.setdefault(stream, threading.Lock())
        with sender:
            with self._lock:
                batch = self._buffers.pop(stream, [])
            if batch:
                self._send(batch)

    def _send(self, batch: list[dict[str, Any]]) -> None:
        try:
            result = self.client.append(batch)
        except Exception as exc:  # kept whatever it is: raised by the next add, flush or close
            with self._lock:
                self._error = self._error or exc
                self._failed_events.extend(batch)
            return
        with self._lock:
            self.results.append(result)

    def _raise_pending(self) -> None:
        with self._lock:
            error, self._error = self._error, None
            events, self._failed_events = self._failed_events, []
        if error is not None:
            error.events = events  # type: ignore[attr-defined]
            raise error
