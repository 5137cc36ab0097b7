"""Checking what the client reads of a stream's RFC 6962 log: signed checkpoints and the consistency
proofs between them (``docs/proofs.md`` §4, ``docs/sdk.md`` "Checkpoints and consistency").

The server's answers (:meth:`ves.client.SequencerClient.checkpoint` and
:meth:`~ves.client.SequencerClient.consistency_proof`) are claims; these functions decide whether
to believe them, trusting nothing but the sequencer's public keys:

>>> with SequencerClient(URL, KEY) as client:  # doctest: +SKIP
...     new = check_checkpoint(client.checkpoint(TENANT, STORE), keys, tenant_id=TENANT, store_id=STORE)
...     if new.checkpoint.tree_size > old.checkpoint.tree_size:
...         proof = client.consistency_proof(TENANT, STORE, old.checkpoint.tree_size, new.checkpoint.tree_size)
...         check_consistency(old, new, proof)  # LogCheckError: a split view or a forked log

A verifier keeps the last checkpoint it accepted and checks each newer one against it, so the
server cannot show it a log that later loses or changes entries, nor show different logs to
different verifiers that compare checkpoints.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from ves.checkpoint import CheckpointError, PublicKeys, SignedCheckpoint, verify_checkpoint
from ves.rfc6962 import ProofError, verify_consistency

__all__ = ["LogCheckError", "check_checkpoint", "check_consistency", "check_extends"]


class LogCheckError(ValueError):
    """A checkpoint or a consistency proof does not hold up; the message says which check failed."""


def check_checkpoint(
    answer: Any,
    public_keys: PublicKeys,
    *,
    tenant_id: uuid.UUID | str,
    store_id: uuid.UUID | str,
    ves: bool = True,
    tree_size: int | None = None,
) -> SignedCheckpoint:
    """The verified checkpoint of a ``GET …/log/checkpoint`` answer, or :class:`LogCheckError`.

    The signed note must carry a valid signature line by one of ``public_keys`` (one key, or the
    trusted set across a rotation), name the stream ``tenant_id``/``store_id`` and its kind (VES,
    or legacy with ``ves=False``), be signed at ``tree_size`` when one was asked for, and the
    answer's unsigned ``tree_size`` and ``root_hash`` must be the note's.
    """
    if not isinstance(answer, Mapping) or not isinstance(answer.get("checkpoint"), str):
        raise LogCheckError("not a checkpoint: it has no signed note ('checkpoint')")
    try:
        signed = verify_checkpoint(answer["checkpoint"], public_keys)
    except CheckpointError as exc:
        raise LogCheckError(f"the checkpoint does not verify: {exc}") from exc
    checkpoint, kind = signed.checkpoint, "ves" if ves else "legacy"
    if (checkpoint.tenant_id, checkpoint.store_id) != (uuid.UUID(str(tenant_id)), uuid.UUID(str(store_id))):
        raise LogCheckError(f"the checkpoint is of another stream ({checkpoint.origin})")
    if not checkpoint.sequencer.endswith(f"/{kind}"):
        raise LogCheckError(f"the checkpoint is not of the stream's {kind} log ({checkpoint.origin})")
    if tree_size is not None and checkpoint.tree_size != tree_size:
        raise LogCheckError(f"the checkpoint is signed at size {checkpoint.tree_size}, not {tree_size}")
    size, root = answer.get("tree_size"), answer.get("root_hash")
    if isinstance(size, bool) or size != checkpoint.tree_size or _hex_text(root) != checkpoint.root_hash.hex():
        raise LogCheckError("the answer's tree_size or root_hash differs from its signed checkpoint")
    return signed


def check_extends(old: SignedCheckpoint, new: SignedCheckpoint) -> None:
    """What two checkpoints must satisfy before a proof between them is worth asking for: the same
    log (origin), and ``new`` no smaller than ``old`` (a log never shrinks)."""
    before, after = old.checkpoint, new.checkpoint
    if before.origin != after.origin:
        raise LogCheckError(f"the checkpoints are of different logs ({before.origin}, {after.origin})")
    if after.tree_size < before.tree_size:
        raise LogCheckError(
            f"the log went backwards: the new checkpoint's size {after.tree_size} is below the earlier "
            f"one's {before.tree_size}"
        )


def check_consistency(old: SignedCheckpoint, new: SignedCheckpoint, answer: Any) -> None:
    """Require the ``GET …/log/proofs/consistency`` answer from ``old``'s size to ``new``'s to prove
    that ``new``'s log extends ``old``'s (RFC 9162 §2.1.4.2), between the two *signed* roots.

    The answer's ``first_root``/``second_root`` are not trusted; when they differ from the signed
    roots the message says so. Equal sizes need equal roots. :class:`LogCheckError` otherwise:
    the sequencer signed two logs that are not one append-only history (a split view, a fork).
    """
    check_extends(old, new)
    before, after = old.checkpoint, new.checkpoint
    if not isinstance(answer, Mapping) or not isinstance(answer.get("proof"), list):
        raise LogCheckError("not a consistency proof: it has no 'proof' list")
    if (answer.get("first"), answer.get("second")) != (before.tree_size, after.tree_size):
        raise LogCheckError(
            f"the proof is from size {answer.get('first')!r} to {answer.get('second')!r}, "
            f"not from {before.tree_size} to {after.tree_size}"
        )
    proof = [_hash(item) for item in answer["proof"]]
    try:
        valid = verify_consistency(
            old_size=before.tree_size,
            new_size=after.tree_size,
            old_root=before.root_hash,
            new_root=after.root_hash,
            proof=proof,
        )
    except ProofError as exc:
        raise LogCheckError(f"malformed consistency proof: {exc}") from exc
    if valid:
        return
    said = (
        f"the log at size {after.tree_size} (root {after.root_hash.hex()}) is not consistent with the "
        f"checkpoint at size {before.tree_size} (root {before.root_hash.hex()})"
    )
    served = _hex_text(answer.get("first_root"))
    if served is not None and served != before.root_hash.hex():
        said += f"; the server's log had root {served} at size {before.tree_size}"
    raise LogCheckError(said + ": the sequencer signed two histories (a split view or a rewritten log)")


def _hex_text(value: Any) -> str | None:
    return value.lower().removeprefix("0x") if isinstance(value, str) else None


def _hash(value: Any) -> bytes:
    text = _hex_text(value)
    try:
        data = bytes.fromhex(text) if text is not None else b""
    except ValueError:
        data = b""
    if len(data) != 32:
        raise LogCheckError("malformed consistency proof: each element is 32 bytes of hex")
    return data
