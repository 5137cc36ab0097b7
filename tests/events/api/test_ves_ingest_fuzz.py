"""Whatever a client sends to the VES endpoints, the answer is a 2xx or a 4xx problem, never a 500."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Persona
from tests.events.ves_helpers import Agent, register_key

pytestmark = pytest.mark.django_db

junk = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=8,
)
FIELDS = [
    "ves_version",
    "event_id",
    "tenant_id",
    "store_id",
    "source_agent_id",
    "agent_key_id",
    "entity_type",
    "entity_id",
    "event_type",
    "created_at",
    "payload_kind",
    "payload_plain_hash",
    "payload_cipher_hash",
    "agent_signature",
    "payload",
    "payload_encrypted",
    "command_id",
    "base_version",
]
ENC_FIELDS = ["enc_version", "aead", "nonce_b64u", "ciphertext_b64u", "tag_b64u", "hpke", "recipients"]


def _dumps(body: Any) -> bytes:
    """stdlib json, so integers beyond 64 bits and lone surrogates reach the server too."""
    return json.dumps(body).encode()


def _check(response: Any) -> None:
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response["Content-Type"] == "application/problem+json"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_mutated_events_never_cause_a_server_error(owner: Persona, data: st.DataObject) -> None:
    agent = Agent(owner.tenant_id, owner.store_id)
    register_key(owner.client, owner.tenant_id, agent.agent_id, 1, agent.public_key)
    encrypted = data.draw(st.booleans())
    event = agent.event({"a": 1}, encrypted_for=[(3, bytes(range(1, 33)))] if encrypted else None)
    for _ in range(data.draw(st.integers(1, 3))):
        mutated = copy.deepcopy(event)
        if encrypted and data.draw(st.booleans()):
            mutated["payload_encrypted"][data.draw(st.sampled_from(ENC_FIELDS))] = data.draw(junk)
        else:
            mutated[data.draw(st.sampled_from(FIELDS))] = data.draw(junk)
        body = {"agentId": str(agent.agent_id), "events": [mutated]}
        _check(owner.client.post("/api/v1/ves/events/ingest", data=_dumps(body), content_type="application/json"))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk)
def test_junk_bodies_never_cause_a_server_error(owner: Persona, body: Any) -> None:
    for path in ("/api/v1/ves/events/ingest", "/api/v1/agents/keys"):
        _check(owner.client.post(path, data=_dumps(body), content_type="application/json"))
    _check(owner.client.get(f"/api/v1/ves/events/{uuid.uuid4()}"))
