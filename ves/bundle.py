"""Offline verification of a proof bundle (``GET /api/v1/ves/events/{id}/bundle``).

Pure Python with no Django: a client holding a bundle and the sequencer's Ed25519 public key
(or the set of keys it trusts, across a key rotation) checks, without any server, that the event
was sequenced (receipt), sealed in a commitment (VES or legacy inclusion proof and state root)
and logged (RFC 6962 inclusion proof under a signed checkpoint). Every check has a stable name,
and :func:`verify_bundle` reports each one, so a tampered bundle says precisely which link broke.
What each check proves, and which fields no check can bind: ``docs/commitments.md``, "Offline
bundle and verifier".

Bundle fields (all hashes bare lowercase hex; ``0x`` prefixes are accepted):

* ``format``: ``"stateset-proof-bundle/1"``; ``stream_kind``: ``"ves"`` or ``"legacy"``;
* ``event``: the event as the events API returns it (VES: ``envelope``, ``sequence_number``,
  ``sequenced_at``, ``event_signing_hash``, ``receipt``; legacy: ``envelope``, ``sequenced_at``);
* ``commitment``: the commitment record; ``inclusion_proof``: the commitment proof record;
* ``log``: ``{tree_size, leaf_index, leaf_hash, root_hash, proof, checkpoint}``;
* ``anchor``: ``{chain_id, chain_tx_hash, chain_block_number}`` or ``null``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ves import legacy_merkle, rfc6962
from ves import merkle as ves_merkle
from ves.checkpoint import CheckpointError, PublicKeys, trusted_keys, verify_checkpoint
from ves.encryption import cipher_hash_for, parse_encrypted
from ves.hashes import EventSigningFields, event_signing_hash, payload_plain_hash, receipt_hash, stream_id
from ves.legacy_json import payload_hash as legacy_payload_hash
from ves.rfc3339 import parse_rfc3339
from ves.signing import verify

BUNDLE_FORMAT = "stateset-proof-bundle/1"
RECEIPT_SIGNATURE_ALG = "ed25519"

__all__ = ["BUNDLE_FORMAT", "RECEIPT_SIGNATURE_ALG", "BundleError", "CheckResult", "verify_bundle"]


class BundleError(ValueError):
    """The bundle is malformed (a field is missing or has the wrong type)."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's outcome. ``verified`` is ``False`` for a check that found nothing wrong but
    whose claim cannot be proven offline (an anchor transaction): ``detail`` says what is left.
    ``keys``: for a passed signature check (``receipt_signature``, ``log_checkpoint``), the
    trusted sequencer keys whose signatures verified it."""

    name: str
    ok: bool
    detail: str
    verified: bool = True
    keys: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class _Unverified:
    """What a check returns when nothing contradicts its claim but it cannot prove it offline."""

    detail: str


@dataclass(frozen=True, slots=True)
class _SignedBy:
    """What a signature check returns on success: the trusted keys that verified it."""

    keys: tuple[bytes, ...]


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


def _instant(obj: Any, *path: str) -> datetime:
    value = _get(obj, *path)
    parsed = parse_rfc3339(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise BundleError(f"{'.'.join(path)} must be an RFC 3339 timestamp with an offset")
    return parsed


def _int(obj: Any, *path: str) -> int:
    value = _get(obj, *path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BundleError(f"{'.'.join(path)} must be an integer")
    return int(value)


def _optional_int(obj: Any, *path: str) -> int | None:
    return None if _get(obj, *path) is None else _int(obj, *path)


def _uuid(obj: Any, *path: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(_get(obj, *path)))
    except ValueError as exc:
        raise BundleError(f"{'.'.join(path)} must be a UUID") from exc


def _flags(obj: Any, *path: str) -> tuple[bool, ...]:
    value = _get(obj, *path)
    if not isinstance(value, list) or not all(isinstance(flag, bool) for flag in value):
        raise BundleError(f"{'.'.join(path)} must be an array of booleans")
    return tuple(value)


class _Checks:
    def __init__(self) -> None:
        self.results: list[CheckResult] = []

    def run(self, name: str, check: Callable[[], str | _Unverified | _SignedBy | None]) -> bool:
        """Run one check: it returns ``None`` (or :class:`_SignedBy`) on success,
        :class:`_Unverified` when it cannot prove its claim offline, or a reason; malformed input
        fails it."""
        try:
            reason = check()
        except (BundleError, ValueError, KeyError, TypeError) as exc:
            reason = f"malformed: {exc}"
        except RecursionError:
            reason = "malformed: nested too deeply"
        if isinstance(reason, _Unverified):
            self.results.append(CheckResult(name, True, reason.detail, verified=False))
            return True
        if isinstance(reason, _SignedBy):
            self.results.append(CheckResult(name, True, "ok", keys=reason.keys))
            return True
        self.results.append(CheckResult(name, reason is None, reason or "ok"))
        return reason is None


def _event_sequence_number(bundle: dict[str, Any], kind: str) -> int:
    if kind == "ves":
        return _int(bundle, "event", "sequence_number")
    return _int(bundle, "event", "envelope", "sequence_number")


def _event_leaf(bundle: dict[str, Any], kind: str, checks: _Checks) -> bytes | None:
    """Event-level checks; returns the recomputed commitment leaf (``None`` if they failed)."""
    envelope = _get(bundle, "event", "envelope")
    tenant_id, store_id = _uuid(envelope, "tenant_id"), _uuid(envelope, "store_id")
    seq = _event_sequence_number(bundle, kind)
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
        if payload_plain_hash(_get(envelope, "payload")) != fields.payload_plain_hash:
            return "payload_plain_hash does not match the payload"
        return None

    def encrypted_payload() -> str | None:
        # The plaintext is not in the bundle (only its recipients can open it); the ciphertext,
        # nonce, tag and wrapped keys are, and the signed payload_cipher_hash binds them.
        if cipher_hash_for(fields, parse_encrypted(_get(envelope, "payload_encrypted"))) != fields.payload_cipher_hash:
            return "payload_cipher_hash does not match payload_encrypted"
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
        # One instant in two forms: the receipt's is chrono's to_rfc3339 (+00:00), the event's
        # serde's (Z), as the reference writes each.
        if _instant(receipt, "sequencedAt") != _instant(bundle, "event", "sequenced_at"):
            return "the receipt's sequencedAt differs from the event's sequenced_at"
        return None

    if fields.payload_kind == 0:
        ok = checks.run("payload_plain_hash", plain_payload)
    elif fields.payload_kind == 1:
        ok = checks.run("payload_cipher_hash", encrypted_payload)
    else:
        ok = checks.run("payload_kind", lambda: f"payload_kind must be 0 or 1, got {fields.payload_kind}")
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


def _same_hex(left: Any, right: Any) -> bool:
    """Two optional hex strings name the same bytes (``0x`` and case aside)."""
    if left is None or right is None:
        return left is right
    if not isinstance(left, str) or not isinstance(right, str):
        return False
    return left.lower().removeprefix("0x") == right.lower().removeprefix("0x")


def _anchor_check(bundle: dict[str, Any], commitment: Any) -> str | _Unverified | None:
    """The anchor record agrees with the commitment's own anchor fields; present, it is reported
    as unverified: only the chain can say whether that transaction exists and carries this root."""
    record = bundle.get("anchor")
    anchored = _get(commitment, "is_anchored")
    if not isinstance(anchored, bool):
        raise BundleError("commitment.is_anchored must be a boolean")
    if record is None:
        if anchored:
            return "the commitment says it is anchored but the bundle has no anchor record"
        for name in ("chain_id", "chain_tx_hash", "chain_block_number", "anchored_at"):
            if commitment.get(name) is not None:
                return f"the commitment is not anchored but has {name}"
        return None
    tx_hash = _hex(_get(record, "chain_tx_hash"), "anchor.chain_tx_hash")
    chain_id = _int(record, "chain_id")
    block = _optional_int(record, "chain_block_number")
    if chain_id < 0 or (block is not None and block < 0):
        raise BundleError("anchor.chain_id and anchor.chain_block_number must not be negative")
    if not anchored:
        return "the bundle has an anchor record but the commitment says it is not anchored"
    if _get(commitment, "anchored_at") is None:
        return "the commitment is anchored but has no anchored_at"
    for name in ("chain_id", "chain_block_number"):
        if _get(commitment, name) != record[name]:
            return f"anchor.{name} differs from the commitment's {name}"
    if not _same_hex(_get(commitment, "chain_tx_hash"), record["chain_tx_hash"]):
        return "anchor.chain_tx_hash differs from the commitment's chain_tx_hash"
    block_text = "no block number" if block is None else f"block {block}"
    prefix = "/api/v1/ves" if bundle.get("stream_kind") == "ves" else "/api/v1"
    return _Unverified(
        f"anchor present, not verified on-chain (chain {chain_id}, transaction 0x{tx_hash.hex()}, {block_text}); "
        f"GET {prefix}/anchor/{_uuid(commitment, 'batch_id')}/verify or a node of that chain checks it"
    )


def verify_bundle(
    bundle: Any, sequencer_key: PublicKeys, *, sequencer_id: uuid.UUID | None = None
) -> list[CheckResult]:
    """Run every check of ``bundle`` against the sequencer's public key, in a fixed order.

    ``sequencer_key`` is one 32-byte key or a collection of trusted keys (the sequencer's current
    and previous ones across a rotation, ``docs/proofs.md``): the receipt must be signed by one of
    them and the checkpoint must carry a valid line by one of them, not necessarily the same one
    (a receipt keeps the key it was signed with; the bundle's checkpoint is the stream's newest).
    The passed signature checks name the key in :attr:`CheckResult.keys`. An empty collection is
    a ``ValueError``.

    The bundle is valid only if every result is ``ok``; a result that is ``ok`` but not
    ``verified`` names what the bundle claims that no offline check can prove (an anchor).
    Checks that depend on a failed one are still reported, as failed with the reason
    ``depends on <check>``. ``sequencer_id``, when given, must be the receipt's ``sequencerId``
    (the receipt hash does not cover it).
    """
    keys = trusted_keys(sequencer_key)
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
    except RecursionError:
        checks.run("event", lambda: "malformed: nested too deeply")
    commitment = bundle.get("commitment")
    proof = bundle.get("inclusion_proof")
    root_name = "merkle_root" if kind == "ves" else "events_root"

    if kind == "ves":

        def receipt_signature() -> str | _SignedBy | None:
            receipt = _get(bundle, "event", "receipt")
            algorithm = _get(receipt, "signatureAlg")
            if algorithm != RECEIPT_SIGNATURE_ALG:
                return f"signatureAlg is {algorithm!r}, not {RECEIPT_SIGNATURE_ALG!r}: the receipt is not signed"
            named = _uuid(receipt, "sequencerId")
            if _int(receipt, "sequencerKeyVersion") < 0:
                raise BundleError("sequencerKeyVersion must not be negative")
            if sequencer_id is not None and named != sequencer_id:
                return f"the receipt names sequencer {named}, not {sequencer_id}"
            signature = _hex(_get(receipt, "sequencerSignature"), "sequencerSignature", 64)
            digest = _hex(_get(receipt, "receiptHash"), "receiptHash")
            by = tuple(key for key in keys if verify(key, digest, signature))
            if not by:
                if len(keys) == 1:
                    return "the receipt signature does not verify with the sequencer key"
                return f"the receipt signature verifies with none of the {len(keys)} trusted sequencer keys"
            return _SignedBy(by)

        checks.run("receipt_signature", receipt_signature)

    def leaf_count() -> int:
        """The number of events of the commitment's range (what its tree is built over)."""
        start, end = _int(commitment, "sequence_start"), _int(commitment, "sequence_end")
        if not 1 <= start <= end:
            raise BundleError("the commitment's range must satisfy 1 <= sequence_start <= sequence_end")
        return end - start + 1

    def commitment_leaf() -> str | None:
        if leaf is None:
            return "depends on the event checks"
        envelope = _get(bundle, "event", "envelope")
        if (_uuid(commitment, "tenant_id"), _uuid(commitment, "store_id")) != (
            _uuid(envelope, "tenant_id"),
            _uuid(envelope, "store_id"),
        ):
            return "the commitment is of another stream than the event"
        if kind == "ves" and _int(commitment, "ves_version") != _int(envelope, "ves_version"):
            return "the commitment's ves_version differs from the event's"
        if _uuid(proof, "batch_id") != _uuid(commitment, "batch_id"):
            return "the inclusion proof names another commitment (batch_id)"
        if _hex(_get(proof, "leaf_hash"), "leaf_hash") != leaf:
            return "the proof's leaf_hash is not the leaf of this event"
        seq = _int(proof, "sequence_number")
        if seq != _event_sequence_number(bundle, str(kind)):
            return "the proof is of another sequence number than the event"
        if not _int(commitment, "sequence_start") <= seq <= _int(commitment, "sequence_end"):
            return "the event is outside the commitment's range"
        if _hex(_get(proof, root_name), root_name) != _hex(_get(commitment, root_name), root_name):
            return "the proof names another root than the commitment"
        return None

    def commitment_shape() -> str | None:
        count = leaf_count()
        if kind == "legacy":
            return None if _int(commitment, "event_count") == count else "event_count is not the range's size"
        if _int(commitment, "leaf_count") != count:
            return "leaf_count is not the range's size"
        if _int(commitment, "padded_leaf_count") != ves_merkle.padded_leaf_count(count):
            return "padded_leaf_count is not the next power of two at or above leaf_count"
        if _int(commitment, "tree_depth") != ves_merkle.tree_depth(count):
            return "tree_depth is not log2(padded_leaf_count)"
        return None

    def commitment_inclusion() -> str | None:
        seq, start, count = _int(proof, "sequence_number"), _int(commitment, "sequence_start"), leaf_count()
        index = seq - start
        if _int(proof, "leaf_index") != index:
            return "the proof's leaf_index is not the event's position in the commitment"
        path = [_hex(p, "proof_path element") for p in _get(proof, "proof_path")]
        directions = _flags(proof, "directions")
        leaf_hash = _hex(_get(proof, "leaf_hash"), "leaf_hash")
        root = _hex(_get(commitment, root_name), root_name)
        if kind == "ves":
            expected = (
                ves_merkle.directions_for_index(index, ves_merkle.tree_depth(count)) if 0 <= index < count else None
            )
            valid = ves_merkle.verify_inclusion_strict(
                leaf_hash=leaf_hash,
                merkle_root=root,
                proof_path=path,
                leaf_index=index,
                tree_depth=ves_merkle.tree_depth(count),
                leaf_count=count,
            )
        else:
            expected = legacy_merkle.proof_shape(index, count) if 0 <= index < count else None
            valid = legacy_merkle.verify_inclusion(
                leaf_hash=leaf_hash, root=root, path=path, leaf_index=index, leaf_count=count
            )
        if directions != expected:
            return "the proof's directions are not those of its leaf_index in a tree of this size"
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
    checks.run("commitment_shape", commitment_shape)
    checks.run("commitment_inclusion", commitment_inclusion)
    checks.run("commitment_state_root", state_root)

    log = bundle.get("log")
    signed_root: list[bytes] = []

    def checkpoint() -> str | _SignedBy | None:
        note = _get(log, "checkpoint")
        if note is None:
            return "the bundle has no signed checkpoint"
        try:
            signed = verify_checkpoint(str(note), keys)
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
        return _SignedBy(signed.verified_by)

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
    checks.run("anchor_record", lambda: _anchor_check(bundle, commitment))
    return checks.results
