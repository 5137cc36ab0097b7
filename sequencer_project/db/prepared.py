"""The append statements on libpq's prepared-statement call, below psycopg's cursor.

A psycopg cursor's ``execute`` converts the query, picks and runs a dumper for every parameter,
asks its prepare manager, then builds a loader for every column of the result: 50 to 72 µs of
client CPU for a seven-parameter statement on the project's machine, against 8 to 10 µs for the
same statement sent with ``PGconn.send_query_prepared`` and parameters already in PostgreSQL's
wire formats (``docs/performance.md``, "The appends below psycopg's cursor"; ADR 0043). The
optimistic appends of legacy ingest run once per request, so that difference is spent on every
single event.

A :class:`PreparedStatement` is declared once per statement: its SQL keeps psycopg's named
placeholders (``%(name)s``, ``%(name)b``; the ``.sql`` file stays readable and the same file can
be run by a cursor), and every parameter names its :class:`Codec`. It is prepared on a
connection the first time it runs there (under its own name, apart from psycopg's automatic
``_pg3_*`` statements), prepared again if the server has forgotten it, and runs on the caller's
psycopg connection holding that connection's lock, as psycopg's own calls do; without
server-side binding it goes as the unnamed statement instead (``run(..., named=False)``). Rows
come back in PostgreSQL's text format, as ``bytes`` (``None`` for NULL): :func:`as_int` and
:func:`as_bool` read them. A failed statement raises the same
``psycopg.errors`` class psycopg's cursor would (``UniqueViolation``, ...), so callers catch what
they caught before.
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors, pq
from psycopg.generators import execute

__all__ = [
    "BIGINT",
    "BIGINT_ARRAY",
    "BYTEA_ARRAY",
    "JSONB",
    "SMALLINT",
    "UUID",
    "UUID_ARRAY",
    "Codec",
    "PreparedStatement",
    "Row",
    "as_bool",
    "as_int",
]

Row = tuple[bytes | None, ...]

_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[A-Za-z_][A-Za-z0-9_]*)\)(?P<kind>[sbt])|(?P<percent>%))")
_TEXT, _BINARY = 0, 1
_ARRAY_HEADER = struct.Struct("!iiIii")  # dimensions, has-nulls flag, element type, length, lower bound
_EMPTY_ARRAY_HEADER = struct.Struct("!iiI")  # no dimensions: no length or lower bound follows
_LENGTH = struct.Struct("!i")


@dataclass(frozen=True, slots=True)
class Codec:
    """How one parameter travels: its type (``oid``; 0 lets the server infer it), its wire
    format (``binary``) and the encoder of a Python value into that format (``None`` is NULL)."""

    oid: int
    binary: bool
    encode: Callable[[Any], bytes]


def _binary_array(element_oid: int, items: Sequence[bytes]) -> bytes:
    """A one-dimensional array without NULLs in PostgreSQL's binary format."""
    if not items:  # an empty array has no dimensions
        return _EMPTY_ARRAY_HEADER.pack(0, 0, element_oid)
    pack = _LENGTH.pack
    return b"".join(
        (
            _ARRAY_HEADER.pack(1, 0, element_oid, len(items), 1),
            *(part for item in items for part in (pack(len(item)), item)),
        )
    )


def _uuid_bytes(value: uuid.UUID) -> bytes:
    return value.int.to_bytes(16, "big")  # UUID.bytes is a Python property computing the same


def _json_text(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode()


def _integer_text(value: int) -> bytes:
    return str(int(value)).encode()


# Typed explicitly: a parameter the server had to infer from ``$4 > $3`` alone would be text.
SMALLINT = Codec(21, False, _integer_text)
BIGINT = Codec(20, False, _integer_text)
UUID = Codec(2950, True, _uuid_bytes)
JSONB = Codec(3802, False, _json_text)  # a str, or orjson's bytes as they are
BYTEA_ARRAY = Codec(1001, True, lambda items: _binary_array(17, items))
UUID_ARRAY = Codec(2951, True, lambda items: _binary_array(2950, [_uuid_bytes(item) for item in items]))
BIGINT_ARRAY = Codec(1016, True, lambda items: _binary_array(20, [n.to_bytes(8, "big", signed=True) for n in items]))


def as_int(value: bytes | None) -> int:
    """A non-NULL integer column."""
    if value is None:
        raise TypeError("expected an integer, the column is NULL")
    return int(value)


def as_bool(value: bytes | None) -> bool:
    """A non-NULL boolean column."""
    if value is None:
        raise TypeError("expected a boolean, the column is NULL")
    return value == b"t"


def positional(sql: str) -> tuple[str, list[str]]:
    """``sql`` with psycopg's named placeholders as ``$n`` (one number per name, in order of first
    use; ``%%`` is ``%``) and the names in that order."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match["percent"]:
            return "%"
        name = match["name"]
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    return _PLACEHOLDER.sub(number, sql), order


_ATTRIBUTE = "_sequencer_prepared"  # on a psycopg connection: the names prepared on its session


class PreparedStatement:
    """One statement, prepared per connection and run with its parameters in wire format."""

    def __init__(self, name: str, sql: str, codecs: Mapping[str, Codec]) -> None:
        text, order = positional(sql)
        if set(order) != set(codecs):
            raise ValueError(f"{name}: placeholders {sorted(order)} but codecs for {sorted(codecs)}")
        self.name = name.encode()
        self._sql = text.encode()
        self._names = order
        self._codecs = [codecs[parameter] for parameter in order]
        self._types = [codec.oid for codec in self._codecs]
        self._formats = [_BINARY if codec.binary else _TEXT for codec in self._codecs]

    def run(self, conn: psycopg.Connection[Any], params: Mapping[str, Any], *, named: bool = True) -> list[Row]:
        """The statement's rows on ``conn`` (in its transaction, if one is open).

        ``named`` False sends it as the unnamed statement, parsed and planned each time, for a
        deployment without server-side prepared statements (``DB_SERVER_SIDE_BINDING=false``:
        a connection pooler in transaction mode that cannot keep them)."""
        values = [
            None if (value := params[parameter]) is None else codec.encode(value)
            for parameter, codec in zip(self._names, self._codecs, strict=True)
        ]
        with conn.lock:
            if not named:
                conn.pgconn.send_query_params(self._sql, values, self._types, self._formats, _TEXT)
                return self._rows(conn)
            prepared: set[bytes] | None = getattr(conn, _ATTRIBUTE, None)
            if prepared is None:
                prepared = set()
                setattr(conn, _ATTRIBUTE, prepared)
            if self.name not in prepared:
                self._prepare(conn)
                prepared.add(self.name)
            try:
                return self._execute(conn, values)
            except errors.InvalidSqlStatementName:  # the session was reset under us: prepare again
                self._prepare(conn)
                return self._execute(conn, values)

    def _prepare(self, conn: psycopg.Connection[Any]) -> None:
        conn.pgconn.send_prepare(self.name, self._sql, self._types)
        _one_result(conn, conn.wait(execute(conn.pgconn)), pq.ExecStatus.COMMAND_OK)

    def _execute(self, conn: psycopg.Connection[Any], values: list[bytes | None]) -> list[Row]:
        conn.pgconn.send_query_prepared(self.name, values, self._formats, _TEXT)
        return self._rows(conn)

    @staticmethod
    def _rows(conn: psycopg.Connection[Any]) -> list[Row]:
        result = _one_result(conn, conn.wait(execute(conn.pgconn)), pq.ExecStatus.TUPLES_OK)
        columns = range(result.nfields)
        return [tuple(result.get_value(row, column) for column in columns) for row in range(result.ntuples)]


def _one_result(conn: psycopg.Connection[Any], results: Iterable[pq.abc.PGresult], expected: int) -> pq.abc.PGresult:
    """The statement's one result, or the error psycopg's cursor would have raised for it."""
    (result,) = results
    if result.status != expected:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise errors.error_from_result(result, encoding=conn.info.encoding)
        raise psycopg.InternalError(f"unexpected result status {pq.ExecStatus(result.status).name}")
    return result
