"""Payloads read back with their keys sorted, as the reference returns them (it stores
``serde_json``'s bytes of a ``Value``, whose maps are ordered by key): a client that hashes the
payload it read, re-serialised in the order it arrived, gets the payload hash (ADR 0050)."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest

from tests import wsgi
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.events.ves_helpers import Agent, post_ves, register_key

pytestmark = pytest.mark.django_db

UNSORTED = {"b": "x", "a": 1, "B": [{"z": 1, "y": 2}], "aa": {"é": 1, "e": 2}}


def _keys(value: Any) -> list[Any]:
    """Every object's keys in the order they were read, depth first."""
    if isinstance(value, dict):
        return [list(value), *[k for v in value.values() for k in _keys(v)]]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def test_a_legacy_payload_reads_back_sorted_and_hashes_as_read(owner: Persona, post_ingest: IngestPoster) -> None:
    event = legacy_event(owner.tenant_id, owner.store_id, payload=UNSORTED)
    assert post_ingest(owner.client, {"events": [event]}).status_code == 200

    answer = wsgi.call("GET", f"/api/v1/events/{event['event_id']}", HTTP_AUTHORIZATION=f"ApiKey {owner.key}")
    envelope = orjson.loads(answer.content)["envelope"]

    assert _keys(envelope["payload"]) == [["B", "a", "aa", "b"], ["y", "z"], ["e", "é"]]
    assert hashlib.sha256(orjson.dumps(envelope["payload"])).hexdigest() == envelope["payload_hash"]


def test_a_ves_payload_reads_back_sorted(owner: Persona) -> None:
    agent = Agent(owner.tenant_id, owner.store_id)
    assert register_key(owner.client, agent.tenant_id, agent.agent_id, 1, agent.public_key).status_code in (200, 201)
    event = agent.event(UNSORTED)
    assert post_ves(owner.client, agent.agent_id, [event]).json()["eventsAccepted"] == 1

    envelope = owner.client.get(f"/api/v1/ves/events/{event['event_id']}").json()["envelope"]

    assert _keys(orjson.loads(orjson.dumps(envelope["payload"]))) == [["B", "a", "aa", "b"], ["y", "z"], ["e", "é"]]
