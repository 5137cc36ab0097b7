"""``GET /api/v1/entities/{type}/{id}`` answers every page as the statement it replaced did.

``events/sql/select_entity_events.sql`` once counted all of an entity's events and skipped
``from`` of them with ``OFFSET`` for every page. It now reads the total from the entity's legacy
``entity_versions`` row and finds where the page starts from the nearer end of the entity's
events before reading the page by key. The answers must not change on the wire: each page here
is asked of both statements, through the gunicorn endpoint, and the bodies compared byte for
byte, over an entity of a few hundred events interleaved with another's, every ``from`` (past the
end too) and several limits.
"""

from __future__ import annotations

import uuid

import orjson
import pytest

import events.selectors
from events.sql import SELECT_ENTITY_EVENTS
from tests import wsgi
from tests.conftest import IngestPoster, Persona, legacy_event

pytestmark = pytest.mark.django_db

EVENTS = 300  # of order/hot; order/cold has one event after every tenth of them
COLD = EVENTS // 10

# The statement before this change, kept as the reference: count(*) and OFFSET on every page.
COUNTED = """
SELECT t.total, p.*
FROM (
    SELECT count(*) AS total
    FROM events
    WHERE tenant_id = %(tenant_id)s
      AND store_id = %(store_id)s
      AND entity_type = %(entity_type)s
      AND entity_id = %(entity_id)s
) AS t
LEFT JOIN LATERAL (
    SELECT e.event_id, e.command_id, e.envelope_version, e.entity_type, e.entity_id, e.event_type,
           e.payload, e.payload_format, e.payload_hash, e.base_version, e.source_agent, e.signature,
           e.created_at, e.sequence_number, e.sequenced_at
    FROM events e
    WHERE e.tenant_id = %(tenant_id)s
      AND e.store_id = %(store_id)s
      AND e.entity_type = %(entity_type)s
      AND e.entity_id = %(entity_id)s
    ORDER BY e.sequence_number
    OFFSET %(offset)s
    LIMIT %(limit)s
) AS p ON true
"""


@pytest.fixture
def stream(owner: Persona, post_ingest: IngestPoster) -> str:
    """``order/hot`` with ``EVENTS`` events and ``order/cold`` with ``COLD``, interleaved, on the
    owner's stream (two requests); its query."""
    events = []
    for n in range(EVENTS):
        events.append(legacy_event(owner.tenant_id, owner.store_id, entity_id="hot", payload={"n": n}))
        if n % 10 == 9:
            events.append(legacy_event(owner.tenant_id, owner.store_id, entity_id="cold", payload={"n": n}))
    for half in (events[: len(events) // 2], events[len(events) // 2 :]):
        assert post_ingest(owner.client, {"events": half}).status_code == 200
    return f"tenant_id={owner.tenant_id}&store_id={owner.store_id}"


def _body(owner: Persona, path: str, query: str) -> bytes:
    response = wsgi.call("GET", path, query=query, HTTP_AUTHORIZATION=f"ApiKey {owner.key}")
    assert response.status_code == 200, response.content
    return bytes(response.content)


def _pages(owner: Persona, path: str, queries: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Each query's body from the statement in use, then from the counting one: the same bytes."""
    answers = [_body(owner, path, query) for query in queries]
    with monkeypatch.context() as patched:
        patched.setattr(events.selectors, "SELECT_ENTITY_EVENTS", COUNTED)
        counted = [_body(owner, path, query) for query in queries]
    for query, answer, reference in zip(queries, answers, counted, strict=True):
        assert answer == reference, query


def test_the_statement_in_use_is_not_the_counting_one() -> None:
    assert "count(*)" not in SELECT_ENTITY_EVENTS
    assert "entity_versions" in SELECT_ENTITY_EVENTS


@pytest.mark.parametrize("limit", ["", "100", "7", "1", "0", "500"])
def test_every_page_of_an_entity_is_what_counting_gave(
    owner: Persona, stream: str, limit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    offsets = range(EVENTS + 3) if limit in ("", "7") else [0, 1, 2, 98, 99, 100, 149, 150, 151, 201, 298, 299, 300]
    queries = [f"{stream}&from={offset}" + (f"&limit={limit}" if limit else "") for offset in offsets]
    queries += [
        f"{stream}" + (f"&limit={limit}" if limit else ""),
        f"{stream}&from={10**18}&limit=3",
    ]  # no `from`; far past the end
    _pages(owner, "/api/v1/entities/order/hot", queries, monkeypatch)


def test_a_small_entity_and_an_entity_without_events_are_what_counting_gave(
    owner: Persona, stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries = [f"{stream}&from={offset}&limit={limit}" for offset in range(COLD + 2) for limit in (1, 4, 100)]
    _pages(owner, "/api/v1/entities/order/cold", queries, monkeypatch)
    _pages(owner, "/api/v1/entities/order/none", [f"{stream}", f"{stream}&from=3"], monkeypatch)
    _pages(owner, f"/api/v1/entities/other/{uuid.uuid4()}", [f"{stream}&from=1"], monkeypatch)


def test_the_pages_hold_each_event_once_in_order_and_the_total(owner: Persona, stream: str) -> None:
    seen: list[int] = []
    for offset in range(0, EVENTS + 7, 7):
        body = orjson.loads(_body(owner, "/api/v1/entities/order/hot", f"{stream}&from={offset}&limit=7"))
        assert body["total"] == EVENTS
        assert body["has_more"] is (offset + body["count"] < EVENTS)
        seen += [event["envelope"]["payload"]["n"] for event in body["events"]]
    assert seen == list(range(EVENTS))
