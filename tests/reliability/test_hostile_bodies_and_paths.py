"""Hostile values in every body field and every path parameter of every operation: never a 5xx.

For each operation of the isolation matrix (``tests/reliability/matrix.py``, which holds a valid
request of every routed operation against a populated tenant), every position of its valid body
(``tests/reliability/mutations.py``: wrong JSON types, NUL and control characters, too deep,
numbers past every range, very long strings, deleted members) and every path parameter
(non-ASCII digits, signs, exponents, 10,000 characters, NUL) is replaced in turn. Each answer
is a 2xx, or a 4xx ``application/problem+json`` whose ``status`` member equals the HTTP status
and whose ``code`` is one the error hierarchy declares for that status; a refused request
changes no row count of any table. Each request runs in a savepoint rolled back afterwards.
``HOSTILE_FUZZ_DEEP=1`` sends the longer value lists (docs/reliability.md).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import orjson
import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.urls import resolve
from psycopg import sql

from sequencer_project.api.openapi import codes_by_status
from sequencer_project.api.problems import PROBLEM_CONTENT_TYPE
from sequencer_project.resilience import get_breaker
from tests.reliability.matrix import MATRIX, Entry
from tests.reliability.mutations import DEEP, PATH_VALUES, label, mutate, positions, values_for
from tests.reliability.world import CHAIN_SETTINGS, World, build_world

pytestmark = pytest.mark.django_db

# Optional members the matrix's minimal bodies leave out, so that they are mutated too.
EXTRA_MEMBERS: dict[tuple[str, str], dict[str, Any]] = {
    ("payments:payments", "POST"): {
        "description": "d",
        "resource_uri": "https://example.com/r",
        "order_id": "o",
        "merchant_id": "m",
        "idempotency_key": "k",
        "metadata": {"note": "n", "tags": ["a"]},
    },
    ("tenants:agent-register", "POST"): {"description": "d", "readOnly": True, "storeIds": [], "rateLimit": 10},
    ("tenants:agent-api-keys", "POST"): {"name": "n", "readOnly": True, "storeIds": [], "rateLimit": 10},
    ("tenants:agent-key-register", "POST"): {"validFrom": "2026-01-01T00:00:00Z", "validTo": "2099-01-01T00:00:00Z"},
    ("payments:batches", "POST"): {"network": "set_chain", "max_size": 10},
    ("payments:batch-settle", "POST"): {"block_number": 1, "gas_used": 21000},
    ("schemas:collection", "POST"): {"description": "d", "compatibility": "none"},
    ("schemas:validate", "POST"): {"eventType": "order.created", "schemaVersion": 1},
    ("commitments:ves-commit-and-anchor", "POST"): {"max_events": 10},
    ("commitments:proof-verify", "POST"): {"leaf_count": 1, "directions": []},
    ("commitments:ves-proof-verify", "POST"): {"tree_depth": 0, "leaf_count": 1, "directions": []},
}
SETTINGS = {
    **CHAIN_SETTINGS,
    "PUBLIC_AGENT_REGISTRATION_ENABLED": True,
    "AGENT_REGISTRATION_RATE_LIMIT": 1_000_000,
}
_CODE = re.compile(r"[a-z][a-z0-9_]*")


def _row_counter() -> Callable[[], tuple[int, ...]]:
    """One statement counting the rows of every table (partitions through their parent)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1"
        )
        tables = [row[0] for row in cursor.fetchall()]
    statement = sql.SQL("SELECT {}").format(
        sql.SQL(", ").join(sql.SQL("(SELECT count(*) FROM {})").format(sql.Identifier(t)) for t in tables)
    )

    def counts() -> tuple[int, ...]:
        with connection.cursor() as cursor:
            cursor.execute(statement)
            return tuple(cursor.fetchone())

    return counts


class Fuzzer:
    def __init__(self, world: World) -> None:
        self.world = world
        self.client = world.owner.client
        self.counts = _row_counter()
        self.codes = codes_by_status()
        self.failures: list[str] = []
        self.sent = 0
        self.by_status: dict[int, int] = {}

    def send(self, what: str, method: str, path: str, data: bytes | None) -> None:
        savepoint = transaction.savepoint()
        before = self.counts()
        if data is None:
            response = self.client.generic(method, path)
        else:
            response = self.client.generic(method, path, data=data, content_type="application/json")  # type: ignore[arg-type]
        problem = self.problem(response, before)
        transaction.savepoint_rollback(savepoint)
        self.sent += 1
        self.by_status[response.status_code] = self.by_status.get(response.status_code, 0) + 1
        if problem:
            self.failures.append(f"{what}: {response.status_code} {problem}")

    def problem(self, response: Any, before: tuple[int, ...]) -> str | None:
        status = response.status_code
        if status >= 500 and status != NOT_IMPLEMENTED:  # 501: a reference route we refuse on purpose
            return bytes(response.content[:300]).decode(errors="replace")
        if status < 400:
            return None
        if response["Content-Type"] != PROBLEM_CONTENT_TYPE:
            return f"content type {response['Content-Type']}"
        body = response.json()
        if body.get("status") != status:
            return f"problem status member {body.get('status')!r}"
        code = body.get("code")
        if not isinstance(code, str) or not _CODE.fullmatch(code) or code not in self.codes.get(status, ()):
            return f"code {code!r} is not a {status} code of the error hierarchy"
        if self.counts() != before:
            return f"refused ({code}) but rows changed"
        return None


# Ingested and validated payloads meet a recursive schema: deep payloads once recursed through
# jsonschema until RecursionError (a 500, on ingest too).
RECURSIVE_SCHEMA = {"type": "object", "properties": {"a": {"$ref": "#"}}, "additionalProperties": True}


@pytest.fixture
def fuzzer() -> Iterator[Fuzzer]:
    breaker = get_breaker("anchor", failure_threshold=5, reset_timeout=60.0)
    breaker.reset()
    with override_settings(**SETTINGS):
        world = build_world()
        schema = {"tenantId": world.ids["tenant"], "eventType": "order.created", "schemaJson": RECURSIVE_SCHEMA}
        response = world.owner.client.post(
            "/api/v1/schemas", data=orjson.dumps(schema), content_type="application/json"
        )
        assert response.status_code == 200, response.content
        yield Fuzzer(world)
    breaker.reset()


NOT_IMPLEMENTED = 501


def _body(key: tuple[str, str], entry: Entry, world: World) -> Any:
    assert entry.body is not None
    body = entry.body(world)
    return {**body, **EXTRA_MEMBERS.get(key, {})} if isinstance(body, dict) else body


def test_hostile_body_fields_never_cause_a_server_error(fuzzer: Fuzzer) -> None:
    world = fuzzer.world
    started = time.monotonic()
    for key, entry in sorted(MATRIX.items()):
        if entry.body is None:
            continue
        body = _body(key, entry, world)
        path = world.fill(entry.path)
        for index, position in enumerate(positions(body)):
            for raw in values_for(index):
                data = mutate(body, position, raw)
                if data is not None:
                    fuzzer.send(f"{key} {label(position)} = {raw[:40]!r}", entry.method, path, data)

    print(  # noqa: T201 - the figures docs/reliability.md quotes (run with -s)
        f"\nhostile bodies: {fuzzer.sent} requests in {time.monotonic() - started:.1f} s (deep={DEEP}), "
        f"statuses {dict(sorted(fuzzer.by_status.items()))}"
    )
    assert fuzzer.failures == [], "\n".join(fuzzer.failures[:60])
    assert fuzzer.sent > 1500


def test_hostile_path_parameters_never_cause_a_server_error(fuzzer: Fuzzer) -> None:
    world = fuzzer.world
    parameters = 0
    for key, entry in sorted(MATRIX.items()):
        url = urlsplit(world.fill(entry.path))
        match = resolve(url.path)
        if not match.kwargs:
            continue
        data = None if entry.body is None else orjson.dumps(_body(key, entry, world))
        for name in match.kwargs:
            parameters += 1
            for value in PATH_VALUES:
                route = re.sub(
                    r"<(?:\w+:)?(\w+)>",
                    lambda m: quote(value if m.group(1) == name else match.kwargs[m.group(1)], safe=""),  # noqa: B023
                    match.route,
                )
                path = "/" + route + (f"?{url.query}" if url.query else "")
                fuzzer.send(f"{key} path {name} = {value[:20]!r}", entry.method, path, data)

    print(  # noqa: T201 - the figures docs/reliability.md quotes (run with -s)
        f"\nhostile path parameters: {parameters} parameters, {fuzzer.sent} requests (deep={DEEP}), "
        f"statuses {dict(sorted(fuzzer.by_status.items()))}"
    )
    assert fuzzer.failures == [], "\n".join(fuzzer.failures[:60])
    assert parameters >= 30
