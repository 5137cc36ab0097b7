"""Integers the ORM binds as ``int2``/``int4`` are refused out of range, never wrapped.

With server-side binding (``DB_SERVER_SIDE_BINDING``, settings) Django hands every model
integer to psycopg as ``Int2``/``Int4``/``Int8`` by the field's type, and psycopg's compiled
binary dumpers of ``Int2`` and ``Int4`` keep the low 16 or 32 bits without a word: an API key's
``rate_limit`` of 99999999999 was stored as 1215752191, and 4294967297 as 1 (found by outside
testing). These dumpers replace them process-wide: in range they write the same bytes, out of
range they raise ``psycopg.DataError`` (``django.db.DataError``), as PostgreSQL itself does for a
value sent as text. ``Int8`` already raises, and plain ``int`` parameters (the hot path's raw SQL)
are sized by psycopg and never pass here. Installed by ``SequencerProjectConfig.ready``.
"""

from __future__ import annotations

import struct

import psycopg
from psycopg.adapt import Dumper
from psycopg.postgres import types
from psycopg.pq import Format
from psycopg.types.numeric import Int2, Int4

__all__ = ["install"]


def _checked_binary_dumper(sql_type: str, code: str) -> type[Dumper]:
    """A binary dumper of ``sql_type`` that packs with ``struct`` ``code`` and refuses what it
    cannot hold, as PostgreSQL does."""
    packer = struct.Struct(f"!{code}")
    low, high = -(2 ** (packer.size * 8 - 1)), 2 ** (packer.size * 8 - 1)

    class CheckedBinaryDumper(Dumper):
        format = Format.BINARY
        oid = types[sql_type].oid

        def dump(self, obj: int) -> bytes:
            if not low <= obj < high:
                raise psycopg.DataError(f"{int(obj)} is out of range for type {sql_type}")
            return packer.pack(obj)

    return CheckedBinaryDumper


def install() -> None:
    """Register the checked dumpers on psycopg's global adapters (every later connection)."""
    psycopg.adapters.register_dumper(Int2, _checked_binary_dumper("int2", "h"))
    psycopg.adapters.register_dumper(Int4, _checked_binary_dumper("int4", "i"))
