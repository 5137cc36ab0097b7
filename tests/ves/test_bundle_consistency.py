"""Offline bundle verification binds every field it can (``ves.bundle``; docs/commitments.md,
"Offline bundle and verifier"): bundles built here with the library alone, as the server builds
them, then every field changed in turn. No server and no Django."""

from __future__ import annotations

import copy
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ves import legacy_merkle, rfc6962
from ves import merkle as ves_merkle
from ves.bundle import BUNDLE_FORMAT, CheckResult, verify_bundle
from ves.checkpoint import sign_checkpoint
from ves.cli import main as cli_main
from ves.envelope import signed_envelope
from ves.hashes import EventSigningFields, event_signing_hash, receipt_hash, stream_id
from ves.hpke import derive_key_pair
from ves.legacy_json import payload_hash as legacy_payload_hash
from ves.signing import public_key_from_seed, sign

SEQUENCER_SEED = bytes(range(32))
SEQUENCER_KEY = public_key_from_seed(SEQUENCER_SEED)
SEQUENCER_ID = uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
AGENT_SEED = bytes(range(32, 64))
AGENT_ID = uuid.UUID("4ea30302-e6b7-4965-9263-d8179e98aa23")
TENANT = uuid.UUID("00000000-0000-0000-0000-000000000001")
STORE = uuid.UUID("5603af72-63ef-4a9f-8dc0-79eee7a524f7")
BATCH = uuid.UUID("c890da2d-0ec1-4333-9829-3bda3528e920")
CREATED_AT = "2026-12-07T00:19:03.755Z"
SEQUENCED_AT = "2026-12-07T00:19:03.826431Z"  # an event's sequenced_at: serde's form
RECEIPT_SEQUENCED_AT = "2026-12-07T00:19:03.826431+00:00"  # the same instant as a receipt writes it


def _signing_hash(envelope: dict[str, Any]) -> bytes:
    return event_signing_hash(
        EventSigningFields(
            ves_version=envelope["ves_version"],
            tenant_id=uuid.UUID(envelope["tenant_id"]),
            store_id=uuid.UUID(envelope["store_id"]),
            event_id=uuid.UUID(envelope["event_id"]),
            source_agent_id=uuid.UUID(envelope["source_agent_id"]),
            agent_key_id=envelope["agent_key_id"],
            entity_type=envelope["entity_type"],
            entity_id=envelope["entity_id"],
            event_type=envelope["event_type"],
            created_at=envelope["created_at"],
            payload_kind=envelope["payload_kind"],
            payload_plain_hash=bytes.fromhex(envelope["payload_plain_hash"][2:]),
            payload_cipher_hash=bytes.fromhex(envelope["payload_cipher_hash"][2:]),
        )
    )


def _state_root(prev: bytes, root: bytes, count: int) -> str:
    """The new state root of a commitment of events 1..``count`` of the test stream, in hex."""
    return ves_merkle.state_root(
        stream_id=stream_id(TENANT, STORE),
        prev_state_root=prev,
        merkle_root=root,
        sequence_start=1,
        sequence_end=count,
        leaf_count=count,
    ).hex()


def _unanchored(batch_id: uuid.UUID, start: int, end: int) -> dict[str, Any]:
    return {
        "batch_id": str(batch_id),
        "tenant_id": str(TENANT),
        "store_id": str(STORE),
        "sequence_start": start,
        "sequence_end": end,
        "committed_at": "2026-12-07T00:19:05.498224Z",
        "is_anchored": False,
        "chain_id": None,
        "chain_tx_hash": None,
        "chain_block_number": None,
        "anchored_at": None,
    }


def _log(kind: str, leaves: list[bytes], index: int) -> dict[str, Any]:
    entries = [rfc6962.leaf_hash(leaf) for leaf in leaves]
    root = rfc6962.root(entries)
    checkpoint = sign_checkpoint(
        SEQUENCER_SEED,
        key_name="sequencer.test",
        sequencer=f"sequencer.test/{kind}",
        tenant_id=TENANT,
        store_id=STORE,
        tree_size=len(entries),
        root_hash=root,
    )
    return {
        "tree_size": len(entries),
        "leaf_index": index,
        "leaf_hash": entries[index].hex(),
        "root_hash": root.hex(),
        "proof": [p.hex() for p in rfc6962.inclusion_proof(index, entries)],
        "checkpoint": checkpoint,
    }


def ves_bundle(count: int = 6, index: int = 1, *, encrypted: bool = False) -> dict[str, Any]:
    """The bundle of event ``index + 1`` of a stream of ``count`` VES events, all sealed in one
    commitment ``1..count`` and logged, as ``GET /api/v1/ves/events/{id}/bundle`` serves it."""
    recipients = [(7, derive_key_pair(b"recipient")[1])] if encrypted else None
    events: list[dict[str, Any]] = []
    for n in range(count):
        envelope = signed_envelope(
            AGENT_SEED,
            tenant_id=TENANT,
            store_id=STORE,
            event_id=uuid.uuid5(BATCH, str(n)),
            source_agent_id=AGENT_ID,
            agent_key_id=1,
            entity_type="order",
            entity_id=f"ORD-{n}",
            event_type="order.paid",
            created_at=CREATED_AT,
            payload={"i": n, "paid": True},
            recipients=recipients,
            command_id=uuid.uuid5(BATCH, f"command-{n}"),
            base_version=n,
        )
        signing_hash = _signing_hash(envelope)
        receipt = receipt_hash(TENANT, STORE, uuid.UUID(envelope["event_id"]), n + 1, signing_hash)
        events.append(
            {
                "envelope": envelope,
                "sequence_number": n + 1,
                "sequenced_at": SEQUENCED_AT,
                "event_signing_hash": "0x" + signing_hash.hex(),
                "receipt": {
                    "sequencerId": str(SEQUENCER_ID),
                    "eventId": envelope["event_id"],
                    "sequenceNumber": n + 1,
                    "sequencedAt": RECEIPT_SEQUENCED_AT,
                    "receiptHash": receipt.hex(),
                    "signatureAlg": "ed25519",
                    "sequencerSignature": sign(SEQUENCER_SEED, receipt).hex(),
                    "sequencerKeyVersion": 0,
                },
            }
        )
    leaves = [
        ves_merkle.leaf_hash(
            tenant_id=TENANT,
            store_id=STORE,
            sequence_number=n + 1,
            event_signing_hash=bytes.fromhex(e["event_signing_hash"][2:]),
            agent_signature=bytes.fromhex(e["envelope"]["agent_signature"][2:]),
        )
        for n, e in enumerate(events)
    ]
    tree = ves_merkle.build_tree(leaves)
    proof = tree.proof(index)
    prev = bytes(32)
    commitment = {
        **_unanchored(BATCH, 1, count),
        "ves_version": 1,
        "tree_depth": tree.tree_depth,
        "leaf_count": count,
        "padded_leaf_count": tree.padded_leaf_count,
        "merkle_root": tree.root.hex(),
        "prev_state_root": prev.hex(),
        "new_state_root": _state_root(prev, tree.root, count),
    }
    return {
        "format": BUNDLE_FORMAT,
        "stream_kind": "ves",
        "event": events[index],
        "commitment": commitment,
        "inclusion_proof": {
            "sequence_number": index + 1,
            "batch_id": str(BATCH),
            "merkle_root": tree.root.hex(),
            "leaf_hash": proof.leaf_hash.hex(),
            "leaf_index": index,
            "proof_path": [p.hex() for p in proof.path],
            "directions": list(proof.directions),
        },
        "log": _log("ves", leaves, index),
        "anchor": None,
    }


def legacy_bundle(count: int = 5, index: int = 3) -> dict[str, Any]:
    """The bundle of legacy event ``index + 1`` of ``count``, sealed in one commitment and logged."""
    envelopes: list[dict[str, Any]] = []
    for n in range(count):
        payload = {"n": n, "total": 42.5}
        envelopes.append(
            {
                "envelope_version": 1,
                "event_id": str(uuid.uuid5(BATCH, f"legacy-{n}")),
                "tenant_id": str(TENANT),
                "store_id": str(STORE),
                "entity_type": "order",
                "entity_id": f"ORD-{n}",
                "event_type": "order.created",
                "payload": payload,
                "payload_hash": legacy_payload_hash(payload).hex(),
                "created_at": "2026-12-07T00:18:55.859000Z",
                "sequence_number": n + 1,
                "source_agent": "00000000-0000-0000-0000-000000000000",
            }
        )
    leaves = [
        legacy_merkle.leaf_hash(
            tenant_id=TENANT,
            store_id=STORE,
            sequence_number=e["sequence_number"],
            payload_hash=bytes.fromhex(e["payload_hash"]),
            entity_type=e["entity_type"],
            entity_id=e["entity_id"],
        )
        for e in envelopes
    ]
    tree = legacy_merkle.build_tree(leaves)
    proof = tree.proof(index)
    prev = bytes(32)
    commitment = {
        **_unanchored(BATCH, 1, count),
        "events_root": tree.root.hex(),
        "event_count": count,
        "prev_state_root": prev.hex(),
        "new_state_root": _state_root(prev, tree.root, count),
    }
    return {
        "format": BUNDLE_FORMAT,
        "stream_kind": "legacy",
        "event": {"envelope": envelopes[index], "sequenced_at": SEQUENCED_AT},
        "commitment": commitment,
        "inclusion_proof": {
            "sequence_number": index + 1,
            "batch_id": str(BATCH),
            "events_root": tree.root.hex(),
            "leaf_hash": proof.leaf_hash.hex(),
            "leaf_index": index,
            "proof_path": [p.hex() for p in proof.path],
            "directions": list(proof.directions),
        },
        "log": _log("legacy", leaves, index),
        "anchor": None,
    }


def anchored(bundle: dict[str, Any], *, tx_hash: str = "ab" * 32, block: int | None = 12) -> dict[str, Any]:
    """``bundle`` with its commitment anchored as the server records it (both copies agree)."""
    changed = copy.deepcopy(bundle)
    changed["commitment"].update(
        is_anchored=True,
        chain_id=31337,
        chain_tx_hash="0x" + tx_hash,
        chain_block_number=block,
        anchored_at="2026-12-07T00:20:00Z",
    )
    changed["anchor"] = {"chain_id": 31337, "chain_tx_hash": "0x" + tx_hash, "chain_block_number": block}
    return changed


def failed(results: list[CheckResult]) -> set[str]:
    """The failed checks that are root causes (not failed only because an earlier one did)."""
    return {r.name for r in results if not r.ok and not r.detail.startswith("depends on")}


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _leaves(child, (*path, i))
    else:
        yield path, value


def _mutated(value: Any) -> Any:
    """Another value of the same kind (the last hex digit or character changed, a number + 1)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 1
    if value is None:
        return "x"
    if not value:
        return "a"
    return value[:-1] + {"0": "1", "a": "b", "Z": "Y", "f": "e"}.get(value[-1], "0" if value[-1] != "0" else "1")


def unbound_fields(bundle: dict[str, Any], **options: Any) -> set[str]:
    """The fields whose change every check still accepts."""
    unbound = set()
    for path, value in _leaves(bundle):
        changed = copy.deepcopy(bundle)
        target = changed
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = _mutated(value)
        if not failed(verify_bundle(changed, SEQUENCER_KEY, **options)):
            unbound.add("/".join(map(str, path)))
    return unbound


# No hash or signature covers these (docs/commitments.md lists them): metadata of the answer,
# and the two optional envelope fields the VES signing preimage leaves out.
VES_UNBOUND = {
    "commitment/committed_at",
    "event/receipt/sequencerKeyVersion",
    "event/envelope/command_id",
    "event/envelope/base_version",
}
LEGACY_UNBOUND = {
    "commitment/committed_at",
    "event/sequenced_at",
    # The legacy leaf (the reference's) covers tenant, store, sequence number, payload hash,
    # entity type and entity id only.
    "event/envelope/envelope_version",
    "event/envelope/event_id",
    "event/envelope/event_type",
    "event/envelope/created_at",
    "event/envelope/source_agent",
}


def test_the_built_bundles_verify() -> None:
    for bundle in (ves_bundle(), ves_bundle(encrypted=True), legacy_bundle(), ves_bundle(1, 0), legacy_bundle(1, 0)):
        results = verify_bundle(bundle, SEQUENCER_KEY, sequencer_id=SEQUENCER_ID)
        assert failed(results) == set(), results
        assert all(r.verified for r in results)


def test_every_ves_field_but_the_unsigned_metadata_is_bound() -> None:
    bundle = ves_bundle()
    assert unbound_fields(bundle, sequencer_id=SEQUENCER_ID) == VES_UNBOUND
    # Without the sequencer's id, nothing can tell which sequencer the receipt names.
    assert unbound_fields(bundle) == VES_UNBOUND | {"event/receipt/sequencerId"}


def test_every_field_of_an_encrypted_payload_but_its_version_is_bound() -> None:
    # VES.md: the cipher hash's preimage starts with a constant U32(1), not enc_version (whose
    # PQC profiles 2 and 3 are hashed the same way)
    unbound = unbound_fields(ves_bundle(encrypted=True), sequencer_id=SEQUENCER_ID)
    assert unbound == VES_UNBOUND | {"event/envelope/payload_encrypted/enc_version"}


def test_every_legacy_field_the_legacy_leaf_covers_is_bound() -> None:
    assert unbound_fields(legacy_bundle()) == LEGACY_UNBOUND


def test_an_anchored_bundle_binds_its_anchor_to_the_commitment() -> None:
    bundle = anchored(ves_bundle())
    # When it was recorded is the server's say: only the chain could tell (docs/commitments.md).
    assert unbound_fields(bundle, sequencer_id=SEQUENCER_ID) == VES_UNBOUND | {"commitment/anchored_at"}


@pytest.mark.parametrize(
    ("change", "check"),
    [
        (lambda b: b["commitment"].update(leaf_count=7), "commitment_shape"),
        (lambda b: b["commitment"].update(padded_leaf_count=16), "commitment_shape"),
        (lambda b: b["commitment"].update(tree_depth=4), "commitment_shape"),
        (lambda b: b["inclusion_proof"].update(leaf_index=0), "commitment_inclusion"),
        (lambda b: b["inclusion_proof"]["directions"].pop(), "commitment_inclusion"),
        (lambda b: b["inclusion_proof"].update(directions=[True, True, True]), "commitment_inclusion"),
        (lambda b: b["inclusion_proof"].update(batch_id=str(uuid.uuid4())), "commitment_leaf"),
        (lambda b: b["event"]["receipt"].update(signatureAlg="none"), "receipt_signature"),
        (lambda b: b["event"]["receipt"].update(sequencedAt="2026-12-07T00:00:00Z"), "receipt_hash"),
    ],
)
def test_each_cross_checked_field_fails_its_check(change: Any, check: str) -> None:
    bundle = ves_bundle()
    change(bundle)
    assert failed(verify_bundle(bundle, SEQUENCER_KEY)) == {check}


@pytest.mark.parametrize(
    "sequenced_at", ["2026-12-07T00:19:03.826431Z", "2026-12-07T01:19:03.826431+01:00", "2026-12-07t00:19:03.826431z"]
)
def test_the_receipt_time_may_be_written_in_any_rfc3339_form_of_the_instant(sequenced_at: str) -> None:
    bundle = ves_bundle()
    bundle["event"]["receipt"]["sequencedAt"] = sequenced_at
    assert failed(verify_bundle(bundle, SEQUENCER_KEY)) == set()


@pytest.mark.parametrize("sequenced_at", ["2026-12-07T00:19:03.826431", "yesterday", 1765066743])
def test_a_receipt_time_that_is_not_an_instant_is_malformed(sequenced_at: object) -> None:
    bundle = ves_bundle()
    bundle["event"]["receipt"]["sequencedAt"] = sequenced_at
    results = verify_bundle(bundle, SEQUENCER_KEY)
    assert failed(results) == {"receipt_hash"}
    assert next(r.detail for r in results if r.name == "receipt_hash").startswith("malformed: ")


def test_the_receipt_must_name_the_sequencer_when_its_id_is_known() -> None:
    bundle = ves_bundle()
    bundle["event"]["receipt"]["sequencerId"] = str(uuid.uuid4())
    assert failed(verify_bundle(bundle, SEQUENCER_KEY)) == set()
    results = verify_bundle(bundle, SEQUENCER_KEY, sequencer_id=SEQUENCER_ID)
    assert failed(results) == {"receipt_signature"}
    assert "names sequencer" in next(r.detail for r in results if r.name == "receipt_signature")


def test_an_unsigned_receipt_is_not_verified() -> None:
    bundle = ves_bundle()
    bundle["event"]["receipt"].update(signatureAlg="none", sequencerSignature="")
    result = next(r for r in verify_bundle(bundle, SEQUENCER_KEY) if r.name == "receipt_signature")
    assert (result.ok, result.detail) == (False, "signatureAlg is 'none', not 'ed25519': the receipt is not signed")


def test_an_encrypted_payload_is_bound_by_its_cipher_hash() -> None:
    bundle = ves_bundle(encrypted=True)
    assert "payload_cipher_hash" in {r.name for r in verify_bundle(bundle, SEQUENCER_KEY)}
    encrypted = bundle["event"]["envelope"]["payload_encrypted"]
    encrypted["ciphertext_b64u"] = ("A" if encrypted["ciphertext_b64u"][0] != "A" else "B") + encrypted[
        "ciphertext_b64u"
    ][1:]
    assert failed(verify_bundle(bundle, SEQUENCER_KEY)) == {"payload_cipher_hash"}


def test_an_anchor_is_reported_as_not_verified_on_chain() -> None:
    for bundle in (anchored(ves_bundle()), anchored(legacy_bundle(), block=None)):
        result = verify_bundle(bundle, SEQUENCER_KEY)[-1]
        assert (result.name, result.ok, result.verified) == ("anchor_record", True, False)
        assert result.detail.startswith("anchor present, not verified on-chain (chain 31337, transaction 0xabab")
        assert f"/anchor/{BATCH}/verify" in result.detail


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (
            lambda b: b.update(anchor={"chain_id": 1, "chain_tx_hash": "cd" * 32, "chain_block_number": 5}),
            "the bundle has an anchor record but the commitment says it is not anchored",
        ),
        (
            lambda b: b["commitment"].update(is_anchored=True),
            "the commitment says it is anchored but the bundle has no anchor record",
        ),
        (lambda b: b["commitment"].update(chain_id=1), "the commitment is not anchored but has chain_id"),
    ],
)
def test_an_anchor_that_contradicts_the_commitment_fails(change: Any, reason: str) -> None:
    bundle = ves_bundle()
    change(bundle)
    result = verify_bundle(bundle, SEQUENCER_KEY)[-1]
    assert (result.name, result.ok, result.detail) == ("anchor_record", False, reason)


def test_a_fabricated_anchor_of_an_anchored_commitment_fails() -> None:
    bundle = anchored(ves_bundle())
    bundle["anchor"]["chain_tx_hash"] = "0x" + "cd" * 32
    result = verify_bundle(bundle, SEQUENCER_KEY)[-1]
    assert (result.ok, result.detail) == (False, "anchor.chain_tx_hash differs from the commitment's chain_tx_hash")


def test_a_deeply_nested_payload_is_malformed_not_a_crash() -> None:
    bundle = ves_bundle()
    deep: Any = 1
    for _ in range(100_000):
        deep = [deep]
    bundle["event"]["envelope"]["payload"] = deep
    assert "payload_plain_hash" in failed(verify_bundle(bundle, SEQUENCER_KEY))


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_the_proof_position_and_tree_shape_are_bound(data: st.DataObject) -> None:
    count = data.draw(st.integers(1, 40), label="count")
    index = data.draw(st.integers(0, count - 1), label="index")
    bundle = ves_bundle(count, index) if data.draw(st.booleans(), label="ves") else legacy_bundle(count, index)
    assert failed(verify_bundle(bundle, SEQUENCER_KEY)) == set()
    proof, commitment = bundle["inclusion_proof"], bundle["commitment"]

    wrong_index = data.draw(st.integers(-1, 64).filter(lambda k: k != index), label="leaf_index")
    assert "commitment_inclusion" in failed(
        verify_bundle({**bundle, "inclusion_proof": {**proof, "leaf_index": wrong_index}}, SEQUENCER_KEY)
    )

    directions = data.draw(st.lists(st.booleans(), max_size=8).filter(lambda d: d != proof["directions"]), label="dirs")
    assert "commitment_inclusion" in failed(
        verify_bundle({**bundle, "inclusion_proof": {**proof, "directions": directions}}, SEQUENCER_KEY)
    )

    names = ["event_count"] if bundle["stream_kind"] == "legacy" else ["leaf_count", "padded_leaf_count", "tree_depth"]
    name = data.draw(st.sampled_from(names), label="field")
    other = data.draw(st.integers(0, 128).filter(lambda v: v != commitment[name]), label="value")
    assert "commitment_shape" in failed(
        verify_bundle({**bundle, "commitment": {**commitment, name: other}}, SEQUENCER_KEY)
    )


def _verify_cli(bundle: Any, tmp_path: Path, *extra: str) -> tuple[int, str]:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    out = io.StringIO()
    status = cli_main(["verify", str(path), "--sequencer-key", SEQUENCER_KEY.hex(), *extra], out=out)
    return status, out.getvalue()


def test_the_cli_says_note_not_pass_for_an_anchor(tmp_path: Path) -> None:
    status, printed = _verify_cli(anchored(ves_bundle()), tmp_path)
    assert status == 0
    assert "PASS anchor_record" not in printed
    assert "NOTE anchor_record: anchor present, not verified on-chain (chain 31337" in printed
    assert printed.endswith("bundle verified, except what it claims and cannot be checked offline: anchor_record\n")

    status, printed = _verify_cli(ves_bundle(), tmp_path, "--sequencer-id", str(SEQUENCER_ID))
    assert (status, printed.splitlines()[-2:]) == (0, ["PASS anchor_record", "bundle verified"])

    status, printed = _verify_cli(ves_bundle(), tmp_path, "--sequencer-id", str(uuid.uuid4()))
    assert status == 1
    assert printed.endswith("bundle REJECTED: receipt_signature\n")
