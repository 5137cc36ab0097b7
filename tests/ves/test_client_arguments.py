"""A wrong argument is refused before anything is sent, as one error type naming the argument
(and the event's index): never a ``KeyError``, ``AttributeError``, ``OverflowError`` or a JSON
``TypeError`` from underneath, and never a URL path the caller did not mean."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from ves.client import AgentSigner, InvalidArgumentError, SequencerClient

TENANT, STORE, AGENT = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
SIGNED = {"entity_type": "order", "entity_id": "1", "event_type": "e", "payload": {}}
LEGACY = {"tenant_id": str(TENANT), "store_id": str(STORE), "entity_type": "order", "payload": {}}


@pytest.fixture
def client_and_sent() -> tuple[SequencerClient, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"success": True})

    return SequencerClient("http://sequencer.test", transport=httpx.MockTransport(handler)), sent


SIGNER = AgentSigner.generate(AGENT)
BAD_CALLS: dict[str, tuple[Callable[[SequencerClient], object], str]] = {
    "signed_missing_entity_type": (
        lambda c: c.append_signed(
            SIGNER, TENANT, STORE, [SIGNED, {k: v for k, v in SIGNED.items() if k != "entity_type"}]
        ),
        "events[1] has no 'entity_type'",
    ),
    "signed_entity_type_not_text": (
        lambda c: c.append_signed(SIGNER, TENANT, STORE, [{**SIGNED, "entity_type": 5}]),
        "events[0].entity_type must be a non-empty string",
    ),
    "signed_payload_not_json": (
        lambda c: c.append_signed(SIGNER, TENANT, STORE, [{**SIGNED, "payload": {"at": datetime.now(UTC)}}]),
        "events[0].payload.at is not JSON: a datetime",
    ),
    "signed_bad_event_id": (
        lambda c: c.append_signed(SIGNER, TENANT, STORE, [{**SIGNED, "event_id": "x"}]),
        "events[0].event_id must be a UUID",
    ),
    "signed_bad_store": (
        lambda c: c.append_signed(SIGNER, TENANT, "nope", [SIGNED]),
        "store_id must be a UUID, got 'nope'",
    ),
    "legacy_payload_not_json": (
        lambda c: c.append([LEGACY, {**LEGACY, "payload": {"when": [datetime.now(UTC)]}}]),
        "events[1].payload.when[0] is not JSON: a datetime",
    ),
    "legacy_payload_nan": (
        lambda c: c.append([{**LEGACY, "payload": {"x": float("nan")}}]),
        "events[0].payload.x must be a finite number",
    ),
    "head_bad_tenant": (lambda c: c.head("not-a-uuid", STORE), "tenant_id must be a UUID, got 'not-a-uuid'"),
    "agent_bad_id": (lambda c: c.agent(42), "agent_id must be a UUID, got 42"),  # type: ignore[arg-type]
    "key_store_ids": (lambda c: c.create_api_key(AGENT, store_ids=[STORE, "s"]), "store_ids[1] must be a UUID"),
    "revoke_path_traversal": (
        lambda c: c.revoke_api_key(AGENT, f"../../{uuid.uuid4()}/api-keys/abcd"),
        "key_hash_prefix must be 1 to 64 hex digits",
    ),
    "revoke_query": (lambda c: c.revoke_api_key(AGENT, "ab?x=1"), "key_hash_prefix must be 1 to 64 hex digits"),
    "revoke_empty": (lambda c: c.revoke_api_key(AGENT, ""), "key_hash_prefix must be 1 to 64 hex digits"),
    "revoke_too_long": (lambda c: c.revoke_api_key(AGENT, "a" * 65), "key_hash_prefix must be 1 to 64 hex digits"),
}


@pytest.mark.parametrize(("call", "message"), BAD_CALLS.values(), ids=BAD_CALLS.keys())
def test_a_bad_argument_is_refused_by_name_before_sending(
    call: Callable[[SequencerClient], object],
    message: str,
    client_and_sent: tuple[SequencerClient, list[httpx.Request]],
) -> None:
    client, sent = client_and_sent
    with pytest.raises(InvalidArgumentError, match="^" + message.replace("[", r"\[").replace("?", r"\?")):
        call(client)
    assert sent == []


@pytest.mark.parametrize("key_id", [2**32, -1, True, "1"], ids=repr)
def test_a_signer_key_id_must_fit_in_32_bits(key_id: object) -> None:
    with pytest.raises(InvalidArgumentError, match="key_id must be an integer from 0 to 4294967295"):
        AgentSigner(bytes(32), AGENT, key_id)  # type: ignore[arg-type]


def test_a_signer_takes_its_agent_id_as_text_and_refuses_a_short_seed() -> None:
    assert AgentSigner(bytes(32), str(AGENT)).agent_id == AGENT  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="seed must be 32 bytes"):
        AgentSigner(bytes(31), AGENT)


def test_a_key_prefix_is_sent_as_one_lower_case_path_segment(
    client_and_sent: tuple[SequencerClient, list[httpx.Request]],
) -> None:
    client, sent = client_and_sent
    client.revoke_api_key(AGENT, "ABcd01")
    assert sent[0].url.path == f"/api/v1/agents/{AGENT}/api-keys/abcd01"
