"""The head each stream had when a process last wrote or read it, shared by the web processes.

The optimistic append (``events.services.ingest``, ADR 0038) numbers a group's events from
the head this process believes a stream has, and the statement moves the counter only from
that head. When another process has written the stream since, the statement writes nothing for
it and the group is planned, sealed and appended again. With every web process writing every
stream, the last write was another process's about as often as not: under single-event load on
64 streams, two gunicorn workers sent ~1.6 attempts per accepted event (docs/performance.md).

:class:`HeadHints` keeps the heads in anonymous shared memory that the server's master maps
before it forks (``docker/gunicorn.conf.py``), so each worker sees the head any of them last
saw. A process that did not inherit a table (tests, Celery, another server) makes its own on
first use. Nothing here is trusted: the append's compare-and-set decides, so a slot another
stream took over, a write torn by a concurrent one, or a stale head costs one more attempt,
never a wrong number.

Layout: ``slots`` fixed entries of three unsigned 64-bit words, ``tag | head | check``, found by
the stream's fingerprint; ``check`` (``tag ^ head ^ _SEAL``) tells a whole entry from a torn
or empty one. Lookups and updates take no lock (~0.5 µs each).
"""

from __future__ import annotations

import mmap
import struct
import uuid

from sequencer_project.process_instance import ProcessInstance

_ENTRY = struct.Struct("<QQQ")
_SEAL = 0x5EC0_E4CE_4EAD_5EA1
_MASK = (1 << 64) - 1
DEFAULT_SLOTS = 1 << 16  # 1.5 MiB: more than the streams one server writes within seconds


def fingerprint(tenant_id: uuid.UUID, store_id: uuid.UUID) -> int:
    """A stream's nonzero 64-bit tag, the same in every process (integers hash unsalted)."""
    return (hash((tenant_id.int, store_id.int)) & _MASK) or 1


class HeadHints:
    """Fixed-size table of stream heads in anonymous shared memory (inherited across ``fork``)."""

    def __init__(self, slots: int = DEFAULT_SLOTS) -> None:
        if slots < 1:
            raise ValueError("slots must be positive")
        self.slots = slots
        self._memory = mmap.mmap(-1, slots * _ENTRY.size)  # MAP_SHARED | MAP_ANONYMOUS

    def guess(self, tenant_id: uuid.UUID, store_id: uuid.UUID) -> int | None:
        """The head last remembered for the stream, or ``None`` (never seen, slot taken, torn)."""
        tag = fingerprint(tenant_id, store_id)
        stored, head, check = _ENTRY.unpack_from(self._memory, self._offset(tag))
        if stored != tag or check != stored ^ head ^ _SEAL:
            return None
        return int(head)

    def remember(self, tenant_id: uuid.UUID, store_id: uuid.UUID, head: int) -> None:
        """Record ``head`` for the stream (the last writer wins: a stale one costs one attempt)."""
        tag = fingerprint(tenant_id, store_id)
        _ENTRY.pack_into(self._memory, self._offset(tag), tag, head, tag ^ head ^ _SEAL)

    def forget(self, tenant_id: uuid.UUID, store_id: uuid.UUID) -> None:
        """Drop the stream's head if its slot still holds it (the next guess is ``None``)."""
        tag = fingerprint(tenant_id, store_id)
        offset = self._offset(tag)
        if _ENTRY.unpack_from(self._memory, offset)[0] == tag:
            _ENTRY.pack_into(self._memory, offset, 0, 0, 0)

    def _offset(self, tag: int) -> int:
        return (tag % self.slots) * _ENTRY.size


SHARED: ProcessInstance[HeadHints] = ProcessInstance(HeadHints)
