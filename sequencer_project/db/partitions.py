"""Hash partitions of tenant-scoped tables, composed with ``psycopg.sql`` identifiers."""

from __future__ import annotations

import re

from psycopg import sql

_TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


def _checked(table: str) -> str:
    if not _TABLE_NAME.match(table):
        raise ValueError(f"invalid table name {table!r}")
    return table


def partition_name(table: str, remainder: int) -> str:
    return f"{_checked(table)}_p{remainder:02d}"


def create_hash_partitions(table: str, modulus: int) -> list[sql.Composed]:
    """``CREATE TABLE IF NOT EXISTS <table>_pNN PARTITION OF <table> FOR VALUES WITH (...)``."""
    return [
        sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES WITH (MODULUS {}, REMAINDER {})").format(
            sql.Identifier(partition_name(table, remainder)),
            sql.Identifier(_checked(table)),
            sql.Literal(modulus),
            sql.Literal(remainder),
        )
        for remainder in range(modulus)
    ]
