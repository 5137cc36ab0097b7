"""Primitive byte encodings of the VES preimages (VES.md §1): all integers big-endian."""

from __future__ import annotations

import uuid

__all__ = ["str3_bytes", "str_bytes", "u16", "u32", "u64", "uuid_bytes"]


def u16(n: int) -> bytes:
    return n.to_bytes(2, "big")


def u32(n: int) -> bytes:
    """``U32(n)``: 4 bytes big-endian; raises ``OverflowError`` outside ``0..2^32-1``."""
    return n.to_bytes(4, "big")


def u64(n: int) -> bytes:
    """``U64(n)``: 8 bytes big-endian; raises ``OverflowError`` outside ``0..2^64-1``."""
    return n.to_bytes(8, "big")


def str_bytes(s: str) -> bytes:
    """``STR(s)``: ``U32(byte length of UTF-8)`` then the UTF-8 bytes (no terminator)."""
    data = s.encode("utf-8")
    return u32(len(data)) + data


def str3_bytes(first: str, second: str, third: str) -> bytes:
    """``STR(first) || STR(second) || STR(third)`` in one call: entity type, entity id and event
    type stand together in the payload AAD and the legacy envelope hash, each computed once per
    event ingested, where three :func:`str_bytes` calls cost more than the hashing."""
    a, b, c = first.encode("utf-8"), second.encode("utf-8"), third.encode("utf-8")
    return b"".join((len(a).to_bytes(4, "big"), a, len(b).to_bytes(4, "big"), b, len(c).to_bytes(4, "big"), c))


def uuid_bytes(u: uuid.UUID | str) -> bytes:
    """``UUID(u)``: the 16 bytes in RFC 4122 order (``uuid.UUID.bytes``, never ``bytes_le``).

    Read from ``.int`` directly: ``.bytes`` is a Python-level property computing the same, and
    this runs several times per event sealed, opened or signed."""
    return (u if isinstance(u, uuid.UUID) else uuid.UUID(u)).int.to_bytes(16, "big")
