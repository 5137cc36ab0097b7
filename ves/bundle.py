"""Offline verification of a proof bundle (``GET /api/v1/ves/events/{id}/bundle``).

Pure Python with no Django: a client holding a bundle and the sequencer's Ed25519 public key
checks, without any server, that the event was sequenced (receipt), sealed in a commitment
(VES or legacy inclusion proof and state root) and logged (RFC 6962 inclusion proof under a
signed checkpoint). Every check has a stable name, and :func:`verify_bundle` reports each one,
so a tampered bundle says precisely which link broke.

Bundle fields (all hashes bare lowercase hex; ``0x`` prefixes are accepted):

* ``format``: ``"stateset-proof-bundle/1"``; ``stream_kind``: ``"ves"`` or ``"legacy"``;
* ``event``: the event as the events API returns it (VES: ``envelope``, ``event_signing_hash``,
  ``receipt``; legacy: ``envelope``);
* ``commitment``: the commitment record; ``inclusion_proof``: the commitment proof record;
* ``log``: ``{tree_size, leaf_index, leaf_hash, root_hash, proof, checkpoint}``;
* ``anchor``: ``{chain_id, chain_tx_hash, chain_block_number}`` or ``null``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ves import legacy_merkle, rfc6962
from ves import merkle as ves_merkle
from ves.checkpoint import CheckpointError, verify_checkpoint
from ves.hashes import EventSigningFields, event_signing_hash, payload_plain_hash, receipt_hash, stream_id
from ves.legacy_json import payload_hash as legacy_payload_hash
from ves.signing import verify

BUNDLE_FORMAT = "stateset-proof-bundle/1"

__all__ = ["BUNDLE_FORMAT", "BundleError", "CheckResult", "verify_bundle"]


class BundleError(ValueError):
    """The bundle is malformed (a field is missing or has the wrong type)."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str


def _hex(value: Any, what: str, length: int | None = 32) -> bytes:
    if not isinstance(value, str):
        raise BundleError(f"{what} must be a hex string")
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError as exc:
        raise BundleError(f"{what} is not hex") from exc
    if length is not None and len(raw) != length:
        raise BundleError(f"{what} must be {length} bytes, got {len(raw)}")
    return raw


def _get(obj: Any, *path: str) -> Any:
    current = obj
    for key in path:
        if not isinstance(current, dict) or key not in current:
            raise BundleError(f"missing field {'.'.join(path)}")
        current = current[key]
    return current


def _int(obj: Any, *path: str) -> int:
    value = _get(obj, *path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BundleError(f"{'.'.join(path)} must be an integer")
    return int(value)


def _uuid(obj: Any, *path: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(_get(obj, *path)))
    except ValueError as exc:
        raise BundleError(f"{'.'.join(path)} must be a UUID") from exc


class _Checks:
    def __init__(self) -> None:
        self.results: list[CheckResult] = []

    def run(self, name: str, check: Callable[[], str | None]) -> bool:
        """Run one check: it returns ``None`` on success or a reason; malformed input fails it."""
        try:
            reason = check()
        except (BundleError, ValueError, KeyError, TypeError) as exc:
            reason = f"malformed: {exc}"
        self.results.append(CheckResult(name, reason is None, reason or "ok"))
        return reason is None


def _event_leaf(bundle: dict[str, Any], kind: str, checks: _Checks) -> bytes | None:
    """Event-level checks; returns the recomputed commitment leaf (``None`` if they failed)."""
    envelope = _get(bundle, "event", "envelope")
    tenant_id, store_id = _uuid(envelope, "tenant_id"), _uuid(envelope, "store_id")
    seq = _int(bundle, "event", "sequence_number") if kind == "ves" else _int(envelope, "sequence_number")
    if kind == "legacy":

        def legacy_payload() -> str | None:
            if legacy_payload_hash(_get(envelope, "payload")) != _hex(_get(envelope, "payload_hash"), "payload_hash"):
                return "payload_hash does not match the payload"
            return None

        if not checks.run("payload_hash", legacy_payload):
            return None
        return legacy_merkle.leaf_hash(
            tenant_id=tenant_id,
            store_id=store_id,
            sequence_number=seq,
            payload_hash=_hex(_get(envelope, "payload_hash"), "payload_hash"),
            entity_type=str(_get(envelope, "entity_type")),
            entity_id=str(_get(envelope, "entity_id")),
        )

    fields = EventSigningFields(
        ves_version=_int(envelope, "ves_version"),
        tenant_id=tenant_id,
        store_id=store_id,
        event_id=_uuid(envelope, "event_id"),
        source_agent_id=_uuid(envelope, "source_agent_id"),
        agent_key_id=_int(envelope, "agent_key_id"),
        entity_type=str(_get(envelope, "entity_type")),
        entity_id=str(_get(envelope, "entity_id")),
        event_type=str(_get(envelope, "event_type")),
        created_at=str(_get(envelope, "created_at")),
        payload_kind=_int(envelope, "payload_kind"),
        payload_plain_hash=_hex(_get(envelope, "payload_plain_hash"), "payload_plain_hash"),
        payload_cipher_hash=_hex(_get(envelope, "payload_cipher_hash"), "payload_cipher_hash"),
    )
    signing_hash = event_signing_hash(fields)

    def plain_payload() -> str | None:
        if fields.payload_kind != 0:
            return None  # encrypted: only the recipients can check the plaintext hash
        if payload_plain_hash(_get(envelope, "payload")) != fields.payload_plain_hash:
            return "payload_plain_hash does not match the payload"
        return None

    def signing() -> str | None:
        if signing_hash != _hex(_get(bundle, "event", "event_signing_hash"), "event_signing_hash"):
            return "event_signing_hash does not match the envelope fields"
        return None

    receipt = _get(bundle, "event", "receipt")

    def receipt_check() -> str | None:
        if _int(receipt, "sequenceNumber") != seq or _uuid(receipt, "eventId") != fields.event_id:
            return "the receipt names another event or sequence number"
        expected = receipt_hash(tenant_id, store_id, fields.event_id, seq, signing_hash)
        if expected != _hex(_get(receipt, "receiptHash"), "receiptHash"):
            return "receiptHash does not match the event"
        return None

    ok = checks.run("payload_plain_hash", plain_payload)
    ok = checks.run("event_signing_hash", signing) and ok
    ok = checks.run("receipt_hash", receipt_check) and ok
    if not ok:
        return None
    return ves_merkle.leaf_hash(
        tenant_id=tenant_id,
        store_id=store_id,
        sequence_number=seq,
        event_signing_hash=signing_hash,
        agent_signature=_hex(_get(envelope, "agent_signature"), "agent_signature", 64),
    )


def verify_bundle(bundle: Any, sequencer_key: bytes) -> list[CheckResult]:
    """Run every check of ``bundle`` against the sequencer's public key, in a fixed order.

    The bundle is valid only if every result is ``ok``. Checks that depend on a failed one are
    still reported, as failed with the reason ``depends on <check>``.
    """
    checks = _Checks()
    if not checks.run(
        "format", lambda: None if isinstance(bundle, dict) and bundle.get("format") == BUNDLE_FORMAT else "not a bundle"
    ):
        return checks.results
    kind = bundle.get("stream_kind")
    if not checks.run(
        "stream_kind", lambda: None if kind in ("ves", "legacy") else "stream_kind must be ves or legacy"
    ):
        return checks.results
    leaf: bytes | None = None
    try:
        leaf = _event_leaf(bundle, str(kind), checks)
    except (BundleError, ValueError, TypeError) as exc:
        reason = f"malformed: {exc}"
        checks.run("event", lambda: reason)
    commitment = bundle.get("commitment")
    proof = bundle.get("inclusion_proof")
    root_name = "merkle_root" if kind == "ves" else "events_root"

    if kind == "ves":

        def receipt_signature() -> str | None:
            receipt = _get(bundle, "event", "receipt")
            signature = _hex(_get(receipt, "sequencerSignature"), "sequencerSignature", 64)
            if not verify(sequencer_key, _hex(_get(receipt, "receiptHash"), "receiptHash"), signature):
                return "the receipt signature does not verify with the sequencer key"
            return None

        checks.run("receipt_signature", receipt_signature)

    def commitment_leaf() -> str | None:
        if leaf is None:
            return "depends on the event checks"
        if _hex(_get(proof, "leaf_hash"), "leaf_hash") != leaf:
            return "the proof's leaf_hash is not the leaf of this event"
        seq = _int(proof, "sequence_number")
        if not _int(commitment, "sequence_start") <= seq <= _int(commitment, "sequence_end"):
            return "the event is outside the commitment's range"
        if _hex(_get(proof, root_name), root_name) != _hex(_get(commitment, root_name), root_name):
            return "the proof names another root than the commitment"
        return None

    def commitment_inclusion() -> str | None:
        seq, start = _int(proof, "sequence_number"), _int(commitment, "sequence_start")
        path = [_hex(p, "proof_path element") for p in _get(proof, "proof_path")]
        leaf_hash = _hex(_get(proof, "leaf_hash"), "leaf_hash")
        root = _hex(_get(commitment, root_name), root_name)
        if kind == "ves":
            valid = ves_merkle.verify_inclusion_strict(
                leaf_hash=leaf_hash,
                merkle_root=root,
                proof_path=path,
                leaf_index=seq - start,
                tree_depth=_int(commitment, "tree_depth"),
                leaf_count=_int(commitment, "leaf_count"),
            )
        else:
            valid = legacy_merkle.verify_inclusion(
                leaf_hash=leaf_hash,
                root=root,
                path=path,
                leaf_index=seq - start,
                leaf_count=_int(commitment, "event_count"),
            )
        return None if valid else f"the inclusion proof does not lead to the commitment's {root_name}"

    def state_root() -> str | None:
        start, end = _int(commitment, "sequence_start"), _int(commitment, "sequence_end")
        expected = ves_merkle.state_root(
            stream_id=stream_id(_uuid(commitment, "tenant_id"), _uuid(commitment, "store_id")),
            prev_state_root=_hex(_get(commitment, "prev_state_root"), "prev_state_root"),
            merkle_root=_hex(_get(commitment, root_name), root_name),
            sequence_start=start,
            sequence_end=end,
            leaf_count=end - start + 1,
        )
        if expected != _hex(_get(commitment, "new_state_root"), "new_state_root"):
            return "new_state_root does not follow from the commitment's fields"
        return None

    checks.run("commitment_leaf", commitment_leaf)
    checks.run("commitment_inclusion", commitment_inclusion)
    checks.run("commitment_state_root", state_root)

    log = bundle.get("log")
    signed_root: list[bytes] = []

    def checkpoint() -> str | None:
        note = _get(log, "checkpoint")
        if note is None:
            return "the bundle has no signed checkpoint"
        try:
            signed = verify_checkpoint(str(note), sequencer_key)
        except CheckpointError as exc:
            return f"the checkpoint does not verify: {exc}"
        cp = signed.checkpoint
        if (cp.tenant_id, cp.store_id) != (_uuid(commitment, "tenant_id"), _uuid(commitment, "store_id")):
            return "the checkpoint is of another stream"
        if not cp.sequencer.endswith(f"/{kind}"):
            return "the checkpoint is of another stream kind"
        if cp.tree_size != _int(log, "tree_size") or cp.root_hash != _hex(_get(log, "root_hash"), "root_hash"):
            return "the log fields differ from the signed checkpoint"
        signed_root.append(cp.root_hash)
        return None

    def log_inclusion() -> str | None:
        if not signed_root:
            return "depends on log_checkpoint"
        if leaf is None:
            return "depends on the event checks"
        seq = _int(proof, "sequence_number")
        entry = rfc6962.leaf_hash(leaf)
        if _int(log, "leaf_index") != seq - 1 or _hex(_get(log, "leaf_hash"), "leaf_hash") != entry:
            return "the log leaf is not this event's entry"
        valid = rfc6962.verify_inclusion(
            leaf_index=seq - 1,
            tree_size=_int(log, "tree_size"),
            leaf_hash=entry,
            proof=[_hex(p, "log proof element") for p in _get(log, "proof")],
            root=signed_root[0],
        )
        return None if valid else "the RFC 6962 inclusion proof does not lead to the signed root"

    checks.run("log_checkpoint", checkpoint)
    checks.run("log_inclusion", log_inclusion)

    def anchor() -> str | None:
        record = bundle.get("anchor")
        if record is None:
            return None
        _hex(_get(record, "chain_tx_hash"), "chain_tx_hash")
        _int(record, "chain_id")
        _int(record, "chain_block_number")
        return None

    checks.run("anchor_record", anchor)
    return checks.results
