"""The SDK's commitment, proof, bundle and x402 methods, and ``ves bundle`` → ``ves verify``,
end to end against a live server (real PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.tenants.factories import issue_key, make_tenant
from tests.ves.test_client_live import LoseFirstResponse, order
from ves.bundle import verify_bundle
from ves.cli import main as cli_main
from ves.client import (
    AgentSigner,
    AsyncSequencerClient,
    BadRequestError,
    NotFoundError,
    SequencerClient,
    X402Payment,
)
from ves.legacy_merkle import verify_with_directions
from ves.signing import public_key_from_seed
from ves.x402 import signing_hash

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

SEED = bytes(range(32))
SEQUENCER_KEY = public_key_from_seed(SEED)
PAYEE = "0x" + "ab" * 20


@pytest.fixture
def stream(live_server: Any, settings: Any) -> tuple[str, str, uuid.UUID, uuid.UUID]:
    """(server URL, admin key of a new tenant, tenant id, store id); the server signs bundles."""
    settings.VES_SEQUENCER_SIGNING_KEY = SEED.hex()
    tenant = make_tenant()
    return live_server.url, issue_key(tenant, can_write=True, can_admin=True), tenant.id, uuid.uuid4()


def _commit(url: str, key: str, prefix: str, tenant_id: uuid.UUID, store_id: uuid.UUID, start: int, end: int) -> Any:
    body = {"tenant_id": str(tenant_id), "store_id": str(store_id), "sequence_start": start, "sequence_end": end}
    response = httpx.post(f"{url}/api/v1/{prefix}commitments", json=body, headers={"Authorization": f"ApiKey {key}"})
    assert response.status_code == 200, response.text
    return response.json()


def _signed_events(count: int) -> list[dict[str, Any]]:
    return [
        {
            "event_id": str(uuid.uuid4()),
            "entity_type": "order",
            "entity_id": f"o-{n}",
            "event_type": "order.created",
            "payload": {"n": n},
        }
        for n in range(count)
    ]


def _registered_signer(client: SequencerClient, tenant_id: uuid.UUID) -> AgentSigner:
    signer = AgentSigner.generate()
    client.register_signing_key(tenant_id, signer.agent_id, signer.key_id, signer.public_key)
    return signer


def test_ves_commitments_proofs_and_bundles(stream: tuple[str, str, uuid.UUID, uuid.UUID]) -> None:
    url, key, tenant_id, store_id = stream
    signer = AgentSigner.generate()
    events = _signed_events(5)
    with SequencerClient(url, key) as client:
        client.register_signing_key(tenant_id, signer.agent_id, signer.key_id, signer.public_key)
        client.append_signed(signer, tenant_id, store_id, events)
        with pytest.raises(NotFoundError) as uncommitted:
            client.proof(2, tenant_id, store_id)
        first = _commit(url, key, "ves/", tenant_id, store_id, 1, 3)
        second = _commit(url, key, "ves/", tenant_id, store_id, 4, 5)

        listed = client.commitments(tenant_id, store_id)
        assert {c["batch_id"] for c in listed} == {first["batch_id"], second["batch_id"]}
        assert client.commitments(tenant_id, store_id, anchored=True) == []
        assert len(client.commitments(tenant_id, store_id, anchored=False)) == 2
        assert client.commitments(tenant_id, store_id, ves=False) == []
        assert len(client.commitments(tenant_id, store_id, limit=1)) == 1

        proof = client.proof(2, tenant_id, store_id)
        assert (proof["batch_id"], proof["sequence_number"], proof["leaf_index"]) == (first["batch_id"], 2, 1)
        assert client.proof(5, tenant_id, store_id, batch_id=second["batch_id"])["leaf_index"] == 1
        with pytest.raises(NotFoundError) as foreign:
            client.proof(5, tenant_id, store_id, batch_id=uuid.uuid4())

        bundle = client.bundle(events[3]["event_id"])
        with pytest.raises(NotFoundError):
            client.bundle(uuid.uuid4())
    assert uncommitted.value.code == "sequence_not_committed"
    assert foreign.value.code == "commitment_not_found"
    assert all(r.ok for r in verify_bundle(bundle, SEQUENCER_KEY))
    assert not all(r.ok for r in verify_bundle(bundle, public_key_from_seed(bytes(32))))


def test_legacy_commitments_proofs_and_bundles(stream: tuple[str, str, uuid.UUID, uuid.UUID]) -> None:
    url, key, tenant_id, store_id = stream
    events = [{**order(tenant_id, store_id, n), "event_id": str(uuid.uuid4())} for n in range(3)]
    with SequencerClient(url, key) as client:
        client.append(events)
        commitment = _commit(url, key, "", tenant_id, store_id, 1, 3)
        assert [c["batch_id"] for c in client.commitments(tenant_id, store_id, ves=False)] == [commitment["batch_id"]]
        assert client.commitments(tenant_id, store_id) == []
        proof = client.proof(3, tenant_id, store_id, ves=False)
        bundle = client.bundle(events[0]["event_id"], ves=False)
    assert proof["events_root"] == commitment["events_root"]
    assert verify_with_directions(
        leaf_hash=bytes.fromhex(proof["leaf_hash"]),
        root=bytes.fromhex(proof["events_root"]),
        path=[bytes.fromhex(p) for p in proof["proof_path"]],
        directions=proof["directions"],
    )
    assert all(r.ok for r in verify_bundle(bundle, SEQUENCER_KEY))


def test_the_async_client_reads_commitments_proofs_and_bundles(stream: tuple[str, str, uuid.UUID, uuid.UUID]) -> None:
    url, key, tenant_id, store_id = stream
    signer = AgentSigner.generate()
    events = _signed_events(2)
    with SequencerClient(url, key) as client:
        client.register_signing_key(tenant_id, signer.agent_id, signer.key_id, signer.public_key)
        client.append_signed(signer, tenant_id, store_id, events)
    commitment = _commit(url, key, "ves/", tenant_id, store_id, 1, 2)

    async def run() -> tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]:
        async with AsyncSequencerClient(url, key) as reader:
            listed = await reader.commitments(tenant_id, store_id, anchored=False)
            proof = await reader.proof(1, tenant_id, store_id)
            bundle = await reader.bundle(events[1]["event_id"])
            return listed, proof, bundle

    listed, proof, bundle = asyncio.run(run())
    assert [c["batch_id"] for c in listed] == [commitment["batch_id"]]
    assert proof["batch_id"] == commitment["batch_id"]
    assert all(r.ok for r in verify_bundle(bundle, SEQUENCER_KEY))


def test_x402_submit_signs_sequences_and_retries_idempotently(stream: tuple[str, str, uuid.UUID, uuid.UUID]) -> None:
    url, key, tenant_id, store_id = stream
    signer = AgentSigner.generate()
    payer = "0x" + "cd" * 20
    transport = LoseFirstResponse()
    with SequencerClient(url, key) as client:
        client.register_signing_key(tenant_id, signer.agent_id, signer.key_id, signer.public_key)
        first = client.x402_submit(signer, tenant_id, store_id, X402Payment(payer, PAYEE, amount=1000, nonce=1))
        with pytest.raises(BadRequestError) as invalid:
            client.x402_submit(signer, tenant_id, store_id, X402Payment(payer, PAYEE, amount=0, nonce=9))
        stranger = AgentSigner.generate()
        with pytest.raises(NotFoundError) as unregistered:
            client.x402_submit(stranger, tenant_id, store_id, X402Payment(payer, PAYEE, amount=5, nonce=2))
    with SequencerClient(url, key, transport=transport, backoff=0.01) as client:
        retried = client.x402_submit(signer, tenant_id, store_id, X402Payment(payer, PAYEE, amount=7, nonce=3))
        third = client.x402_submit(signer, tenant_id, store_id, X402Payment(payer, PAYEE, amount=8, nonce=4))

    assert first["sequence_number"] == 1
    assert first["status"] == "sequenced"
    assert (invalid.value.status, invalid.value.code) == (400, "invalid_payment_field")
    assert unregistered.value.code == "payment_agent_key_not_found"
    assert transport.sent[0] == transport.sent[1]  # the same signed bytes, the same idempotency key
    assert retried["sequence_number"] == 2  # the retry did not sequence the intent twice
    assert third["sequence_number"] == 3
    sent = json.loads(transport.sent[0])
    valid_until = sent["valid_until"]
    assert time.time() < valid_until <= time.time() + 3600
    assert (
        sent["signing_hash"]
        == "0x"
        + signing_hash(
            payer=payer, payee=PAYEE, amount=7, asset="usdc", network="set_chain", valid_until=valid_until, nonce=3
        ).hex()
    )


def test_the_same_payment_submitted_again_later_is_answered_with_its_intent(
    stream: tuple[str, str, uuid.UUID, uuid.UUID],
) -> None:
    """An application that fails over by submitting the same payment again (its idempotency key
    fixed) gets its intent back: the default ``valid_until`` is fixed when the payment is made, so
    the second body is the first's (it was computed at each call, and a call in the next second
    was 409 ``idempotency_key_conflict``)."""
    url, key, tenant_id, store_id = stream
    signer = AgentSigner.generate()
    payment = X402Payment("0x" + "ce" * 20, PAYEE, amount=11, nonce=1, idempotency_key=str(uuid.uuid4()))
    with SequencerClient(url, key) as client:
        client.register_signing_key(tenant_id, signer.agent_id, signer.key_id, signer.public_key)
        first = client.x402_submit(signer, tenant_id, store_id, payment)
        time.sleep(1.1)  # into the next second
        again = client.x402_submit(signer, tenant_id, store_id, payment)

    assert again["intent_id"] == first["intent_id"]
    assert again["sequence_number"] == first["sequence_number"] == 1
    assert payment.valid_until is not None
    assert time.time() < payment.valid_until <= time.time() + 3600


@pytest.mark.parametrize(("asset", "canonical"), [("ss_usd", "ssusd"), ("WSS_USD", "wssusd"), ("SSUSD", "ssusd")])
def test_x402_submit_signs_an_asset_alias_as_its_canonical_name(
    stream: tuple[str, str, uuid.UUID, uuid.UUID], asset: str, canonical: str
) -> None:
    """The server hashes the asset the reference's parser makes of an alias; the SDK signs that."""
    url, key, tenant_id, store_id = stream
    signer = AgentSigner.generate()
    payer = "0x" + uuid.uuid4().hex + "ab" * 4
    with SequencerClient(url, key) as client:
        client.register_signing_key(tenant_id, signer.agent_id, signer.key_id, signer.public_key)
        submitted = client.x402_submit(
            signer, tenant_id, store_id, X402Payment(payer, PAYEE, amount=5, nonce=1, asset=asset)
        )
    listed = httpx.get(  # the list answers full intents
        f"{url}/api/v1/x402/payments",
        params={"tenant_id": str(tenant_id), "payer_address": payer},
        headers={"Authorization": f"ApiKey {key}"},
    )
    assert listed.status_code == 200, listed.content
    (stored,) = listed.json()
    assert stored["intent_id"] == submitted["intent_id"]

    assert submitted["status"] == "sequenced"
    assert stored["asset"] == canonical


def test_the_sdk_reads_the_published_sequencer_key(
    stream: tuple[str, str, uuid.UUID, uuid.UUID],
) -> None:
    url, key, *_ = stream
    with SequencerClient(url, key) as client:
        keys = client.sequencer_keys()
    [current] = keys["keys"]
    assert (bytes.fromhex(current["public_key"]), current["status"]) == (SEQUENCER_KEY, "current")


def test_the_cli_bundle_then_verify_round_trip(stream: tuple[str, str, uuid.UUID, uuid.UUID], tmp_path: Path) -> None:
    url, key, tenant_id, store_id = stream
    signer = AgentSigner.generate()
    events = _signed_events(3)
    legacy = {**order(tenant_id, store_id, 0), "event_id": str(uuid.uuid4())}
    with SequencerClient(url, key) as client:
        client.register_signing_key(tenant_id, signer.agent_id, signer.key_id, signer.public_key)
        client.append_signed(signer, tenant_id, store_id, events)
        client.append([legacy])
    _commit(url, key, "ves/", tenant_id, store_id, 1, 3)
    _commit(url, key, "", tenant_id, store_id, 1, 1)
    base = ["--url", url, "--api-key", key]
    ves_file, legacy_file = tmp_path / "ves.json", tmp_path / "legacy.json"

    assert cli_main([*base, "bundle", events[2]["event_id"], "--out", str(ves_file)], out=io.StringIO()) == 0
    assert (
        cli_main([*base, "bundle", legacy["event_id"], "--legacy", "--out", str(legacy_file)], out=io.StringIO()) == 0
    )
    printed = io.StringIO()
    assert cli_main([*base, "bundle", events[0]["event_id"]], out=printed) == 0
    with SequencerClient(url, key) as client:
        assert json.loads(printed.getvalue()) == client.bundle(events[0]["event_id"])
    for path in (ves_file, legacy_file):
        verified = io.StringIO()
        assert cli_main(["verify", str(path), "--sequencer-key", SEQUENCER_KEY.hex()], out=verified) == 0
        assert verified.getvalue().endswith("bundle verified\n")
    rejected = io.StringIO()
    other_key = public_key_from_seed(bytes(32)).hex()
    assert cli_main(["verify", str(ves_file), "--sequencer-key", other_key], out=rejected) == 1
    assert cli_main([*base, "bundle", str(uuid.uuid4())], out=io.StringIO()) == 1


def test_the_cli_waits_for_an_event_to_be_sealed(
    stream: tuple[str, str, uuid.UUID, uuid.UUID], tmp_path: Path, capsys: Any
) -> None:
    url, key, tenant_id, store_id = stream
    events = _signed_events(2)
    with SequencerClient(url, key) as client:
        client.append_signed(_registered_signer(client, tenant_id), tenant_id, store_id, events)
    base = ["--url", url, "--api-key", key]

    # Not sealed and nobody seals it: the wait runs out (exit 1, and says so).
    assert cli_main([*base, "bundle", events[1]["event_id"], "--wait", "0.3"], out=io.StringIO()) == 1
    assert "was not sealed into a commitment in 0.3 s" in capsys.readouterr().err

    # Sealed a second after the CLI starts asking: it waits, then writes the bundle.
    sealer = threading.Timer(1.0, _commit, (url, key, "ves/", tenant_id, store_id, 1, 2))
    sealer.start()
    started = time.monotonic()
    out = tmp_path / "bundle.json"
    try:
        assert (
            cli_main([*base, "bundle", events[1]["event_id"], "--wait", "30", "--out", str(out)], out=io.StringIO())
            == 0
        )
    finally:
        sealer.join()
    assert time.monotonic() - started >= 1.0
    results = verify_bundle(json.loads(out.read_text()), SEQUENCER_KEY)
    assert results
    assert all(result.ok for result in results)
