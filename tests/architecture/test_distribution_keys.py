"""The migrated schema can be distributed by ``tenant_id`` (docs/scaling.md, "When one primary is
not enough: Citus"), read from ``pg_catalog`` of the test database.

Every table with a ``tenant_id`` column is one of three kinds:

- a **reference** table (small, copied to every node): :data:`REFERENCE_TABLES`;
- **coordinator-only** (stays on the coordinator, never joined with tenant data on a worker):
  :data:`COORDINATOR_ONLY_TABLES`;
- otherwise **distributed** by ``tenant_id``: its primary key and every unique index start with
  ``tenant_id``, and each of its foreign keys points to a reference table or to a distributed
  table through a key that pairs ``tenant_id`` with ``tenant_id`` (co-located rows).

Tables without ``tenant_id`` (Django's own, ``tenants``) are not distributed, so nothing may
reference a distributed table from them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]

REFERENCE_TABLES = frozenset({"tenants", "api_keys"})
# audit_log: operator actions, many without a tenant (tenant_id NULL); written and read only
# through the coordinator, never joined with a tenant's rows.
COORDINATOR_ONLY_TABLES = frozenset({"audit_log"})

TENANT_TABLES = """
SELECT c.relname
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""

# Primary keys and unique indexes of top-level tables, with their columns in key order (an
# expression column reads as NULL).
UNIQUE_KEYS = """
SELECT t.relname, i.relname, x.indisprimary,
       array(SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, n)
             LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n)
FROM pg_index x
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_class i ON i.oid = x.indexrelid
WHERE t.relnamespace = current_schema()::regnamespace AND x.indisunique AND NOT t.relispartition
"""

# Foreign keys declared on top-level tables (not the copies PostgreSQL makes on partitions),
# as (referencing column, referenced column) pairs.
FOREIGN_KEYS = """
SELECT con.conname, src.relname, dst.relname,
       array(SELECT a.attname || '=' || b.attname
             FROM unnest(con.conkey, con.confkey) k(src_attnum, dst_attnum)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.src_attnum
             JOIN pg_attribute b ON b.attrelid = con.confrelid AND b.attnum = k.dst_attnum)
FROM pg_constraint con
JOIN pg_class src ON src.oid = con.conrelid
JOIN pg_class dst ON dst.oid = con.confrelid
WHERE con.contype = 'f' AND con.conparentid = 0 AND src.relnamespace = current_schema()::regnamespace
"""


@dataclass(frozen=True, slots=True)
class Catalog:
    tenant_tables: frozenset[str]
    unique_keys: list[tuple[str, str, bool, list[str | None]]]
    foreign_keys: list[tuple[str, str, str, list[str]]]

    @property
    def distributed(self) -> frozenset[str]:
        return self.tenant_tables - REFERENCE_TABLES - COORDINATOR_ONLY_TABLES


def _read_catalog() -> Catalog:
    with connection.cursor() as cursor:
        cursor.execute(TENANT_TABLES)
        tenant_tables = frozenset(name for (name,) in cursor.fetchall())
        cursor.execute(UNIQUE_KEYS)
        unique_keys = [(t, i, bool(p), list(cols)) for t, i, p, cols in cursor.fetchall()]
        cursor.execute(FOREIGN_KEYS)
        foreign_keys = [(c, s, d, list(pairs)) for c, s, d, pairs in cursor.fetchall()]
    return Catalog(tenant_tables, unique_keys, foreign_keys)


def distribution_violations(catalog: Catalog) -> list[str]:
    """Every way the schema breaks the rule, one sentence each (empty: it holds)."""
    distributed = catalog.distributed
    found: list[str] = []
    with_primary_key = {table for table, _, primary, _ in catalog.unique_keys if primary}
    found += [f"{table} has no primary key" for table in sorted(distributed - with_primary_key)]
    for table, index, primary, columns in catalog.unique_keys:
        if table in distributed and columns[:1] != ["tenant_id"]:
            kind = "primary key" if primary else "unique index"
            found.append(f"{table}: {kind} {index} {columns} does not start with tenant_id")
    for name, source, target, pairs in catalog.foreign_keys:
        if target in distributed and (source not in distributed or "tenant_id=tenant_id" not in pairs):
            found.append(f"{source}.{name} references {target} by {pairs}, not through tenant_id=tenant_id")
        elif target not in distributed | REFERENCE_TABLES and source in distributed:
            found.append(f"{source}.{name} references {target}, neither co-located nor a reference table")
    return found


@pytest.mark.django_db
def test_every_tenant_table_is_distributable_by_tenant_id() -> None:
    assert distribution_violations(_read_catalog()) == []


@pytest.mark.django_db
def test_the_declared_reference_and_coordinator_tables_exist_with_a_tenant_column() -> None:
    catalog = _read_catalog()
    assert catalog.tenant_tables >= REFERENCE_TABLES - {"tenants"}
    assert catalog.tenant_tables >= COORDINATOR_ONLY_TABLES


@pytest.mark.django_db
def test_a_global_primary_key_a_global_unique_key_and_a_tenantless_foreign_key_are_caught() -> None:
    with connection.cursor() as cursor:  # inside the test's transaction: rolled back after it
        cursor.execute(
            "CREATE TABLE probe_parent (id uuid PRIMARY KEY, tenant_id uuid NOT NULL, code text UNIQUE);"
            "CREATE TABLE probe_child (id bigint, tenant_id uuid NOT NULL, parent_id uuid REFERENCES probe_parent (id),"
            " PRIMARY KEY (tenant_id, id));"
            "CREATE TABLE probe_global (id bigint PRIMARY KEY);"
            "CREATE TABLE probe_orphan (tenant_id uuid, id bigint, global_id bigint REFERENCES probe_global (id),"
            " PRIMARY KEY (tenant_id, id));"
        )
    found = distribution_violations(_read_catalog())

    assert sorted(v for v in found if v.startswith("probe_")) == [
        "probe_child.probe_child_parent_id_fkey references probe_parent by ['parent_id=id'],"
        " not through tenant_id=tenant_id",
        "probe_orphan.probe_orphan_global_id_fkey references probe_global, neither co-located nor a reference table",
        "probe_parent: primary key probe_parent_pkey ['id'] does not start with tenant_id",
        "probe_parent: unique index probe_parent_code_key ['code'] does not start with tenant_id",
    ]


def _item(section: str, kind: str) -> str:
    """The text of the list item ``- **<kind>**: ...`` (continuation lines included)."""
    found = re.search(rf"^- \*\*{kind}\*\*:(.*?)(?=^- |^$)", section, re.M | re.S)
    assert found is not None, f"docs/scaling.md lists no {kind} tables"
    return found[1]


@pytest.mark.django_db
def test_docs_scaling_names_the_kind_of_every_tenant_table() -> None:
    """The lists of docs/scaling.md stay in step with the schema and this module's declarations."""
    text = (ROOT / "docs" / "scaling.md").read_text()
    section = text[text.index("## When one primary is not enough") :]
    listed = {
        kind: set(re.findall(r"`([a-z0-9_]+)`", _item(section, kind)))
        for kind in ("Reference", "Distributed", "Coordinator-only")
    }
    assert listed["Reference"] == REFERENCE_TABLES
    assert listed["Coordinator-only"] >= COORDINATOR_ONLY_TABLES
    assert listed["Distributed"] == set(_read_catalog().distributed)
