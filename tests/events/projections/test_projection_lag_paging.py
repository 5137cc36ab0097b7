"""``GET /api/v1/projections/lag`` pages: worst lag first, ``limit`` (default 100, capped at 1000)
and ``offset``, validated (docs/projections.md, "Lag")."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.projections.entity_state import ENTITY_STATE
from events.projections.registry import projections
from streams.kinds import StreamKind
from tests.conftest import Persona, api_client
from tests.events.projections.helpers import PoisonProjection, registered
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db

STREAMS = 2_100


@pytest.fixture
def many_streams(owner: Persona) -> dict[uuid.UUID, int]:
    """``STREAMS`` legacy streams of the owner's tenant (inserted as ingest leaves them: a
    ``sequence_counters`` row each), heads 1..STREAMS; ``entity_state`` has projected half of
    every odd one. The head of each store."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO sequence_counters (tenant_id, store_id, stream_kind, current_sequence)
            SELECT %(tenant_id)s, gen_random_uuid(), 1, g FROM generate_series(1, %(count)s) AS g
            RETURNING store_id, current_sequence
            """,
            {"tenant_id": owner.tenant_id, "count": STREAMS},
        )
        heads = {row[0]: int(row[1]) for row in cursor.fetchall()}
        cursor.execute(
            """
            INSERT INTO projection_checkpoints (projection, tenant_id, store_id, stream_kind, last_sequence, updated_at)
            SELECT %(projection)s, tenant_id, store_id, stream_kind, current_sequence / 2, now()
            FROM sequence_counters
            WHERE tenant_id = %(tenant_id)s AND stream_kind = 1 AND current_sequence %% 2 = 1
            """,
            {"tenant_id": owner.tenant_id, "projection": ENTITY_STATE},
        )
    return heads


@pytest.fixture
def second_projection() -> Iterator[PoisonProjection]:
    with registered(PoisonProjection(f"lag_{uuid.uuid4().hex[:8]}")) as projection:
        yield projection


def _legacy_projections() -> list[str]:
    return [p.name for p in projections() if p.stream_kind is StreamKind.LEGACY]


def _lag(head: int, projection: str) -> int:
    return head - head // 2 if projection == ENTITY_STATE and head % 2 else head


def _url(owner: Persona, query: str = "") -> str:
    return f"/api/v1/projections/lag?tenant_id={owner.tenant_id}{query}"


def test_the_default_page_is_the_100_worst_streams(owner: Persona, many_streams: dict[uuid.UUID, int]) -> None:
    with CaptureQueriesContext(connection) as queries:
        response = owner.client.get(_url(owner))

    assert response.status_code == 200
    streams = response.json()["streams"]
    assert len(streams) == 100
    expected = sorted(
        (
            (_lag(head, projection), projection, str(store))
            for projection in _legacy_projections()
            for store, head in many_streams.items()
        ),
        key=lambda row: (-row[0], row[1], row[2]),
    )[:100]
    assert [(s["lag"], s["projection"], s["store_id"]) for s in streams] == expected
    assert all(s["lag"] == s["head"] - s["checkpoint"] for s in streams)
    assert len([q for q in queries if "sequence_counters" in q["sql"]]) == 1


def test_limit_is_capped_at_1000(owner: Persona, many_streams: dict[uuid.UUID, int]) -> None:
    body = owner.client.get(_url(owner, "&limit=5000")).json()

    assert len(body["streams"]) == 1000


def test_walking_the_pages_reaches_every_stream_of_every_projection_once(
    owner: Persona, many_streams: dict[uuid.UUID, int], second_projection: PoisonProjection
) -> None:
    seen: list[tuple[str, str]] = []
    lags: list[int] = []
    offset: int | None = 0
    pages = 0
    while offset is not None:  # the answer says where the next page starts, and that none follows
        body = owner.client.get(_url(owner, f"&limit=1000&offset={offset}")).json()
        seen += [(s["projection"], s["store_id"]) for s in body["streams"]]
        lags += [s["lag"] for s in body["streams"]]
        offset, pages = body["next_offset"], pages + 1
        assert offset is None or offset == pages * 1000

    expected = {(projection, str(store)) for projection in _legacy_projections() for store in many_streams}
    assert second_projection.name in _legacy_projections()
    assert len(seen) == len(expected) >= 2 * STREAMS
    assert set(seen) == expected
    assert lags == sorted(lags, reverse=True)
    assert pages == -(-len(expected) // 1000)  # no empty page at the end


def test_a_store_scoped_caller_pages_its_stores_only(owner: Persona, many_streams: dict[uuid.UUID, int]) -> None:
    mine = sorted(many_streams)[:3]
    client = api_client(issue_key(owner.tenant, store_ids=mine))

    body = client.get(_url(owner, "&limit=2&offset=1")).json()
    everything = client.get(_url(owner, "&limit=1000")).json()

    assert {s["store_id"] for s in everything["streams"]} == {str(s) for s in mine}
    assert body["streams"] == everything["streams"][1:3]


def test_one_store_still_answers_its_streams(owner: Persona, many_streams: dict[uuid.UUID, int]) -> None:
    store = next(iter(many_streams))

    body = owner.client.get(_url(owner, f"&store_id={store}")).json()

    assert {(s["store_id"], s["head"]) for s in body["streams"]} == {(str(store), many_streams[store])}


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("limit", "0"), ("limit", "-5"), ("limit", "ten"), ("limit", "1.5"), ("offset", "-1"), ("offset", "x"),
     ("offset", "99999999999999999999")],
)  # fmt: skip
def test_a_bad_limit_or_offset_is_400_naming_it(owner: Persona, parameter: str, value: str) -> None:
    response = owner.client.get("/api/v1/projections/lag", {"tenant_id": str(owner.tenant_id), parameter: value})

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["parameter"]) == ("invalid_parameter", parameter)
