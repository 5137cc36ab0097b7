"""Response shapes of the commitments API: the reference's field names, bare lowercase hex."""

from __future__ import annotations

from typing import Any

from commitments.proofs import EventProof
from commitments.selectors import CommitmentRow


def _hex(value: bytes | None) -> str | None:
    return value.hex() if value is not None else None


def ves_commitment_output(c: CommitmentRow, *, with_anchor: bool = True) -> dict[str, Any]:
    """``VesCommitment``: the tree shape, roots and range, and (by default) the anchor fields."""
    return {
        "batch_id": c.batch_id,
        "tenant_id": c.tenant_id,
        "store_id": c.store_id,
        "ves_version": c.ves_version,
        "tree_depth": c.tree_depth,
        "leaf_count": c.leaf_count,
        "padded_leaf_count": c.padded_leaf_count,
        "merkle_root": c.merkle_root.hex(),
        "prev_state_root": c.prev_state_root.hex(),
        "new_state_root": c.new_state_root.hex(),
        **_range_and_anchor(c, with_anchor=with_anchor),
    }


def legacy_commitment_output(
    c: CommitmentRow, *, with_anchor: bool = True, sequence_range: bool = False
) -> dict[str, Any]:
    """Legacy ``BatchCommitment``: ``events_root`` and ``event_count`` instead of the VES names.

    ``sequence_range``: also the reference's ``sequence_range: [start, end]``, which its
    ``GET /api/v1/commitments/{batch_id}`` answers (it serializes the whole struct there; its
    other commitment answers spell the range ``sequence_start``/``sequence_end`` alone).
    """
    return {
        "batch_id": c.batch_id,
        "tenant_id": c.tenant_id,
        "store_id": c.store_id,
        "prev_state_root": c.prev_state_root.hex(),
        "new_state_root": c.new_state_root.hex(),
        "events_root": c.merkle_root.hex(),
        "event_count": c.leaf_count,
        **_range_and_anchor(c, with_anchor=with_anchor, sequence_range=sequence_range),
    }


def _range_and_anchor(c: CommitmentRow, *, with_anchor: bool, sequence_range: bool = False) -> dict[str, Any]:
    """The members both kinds end with: the range, the commit time and the anchor state."""
    tail: dict[str, Any] = {"sequence_start": c.sequence_start, "sequence_end": c.sequence_end}
    if sequence_range:
        tail["sequence_range"] = [c.sequence_start, c.sequence_end]
    # on_request: a range a client asked for beside the chain (ADR 0020), not a link of it
    tail.update(committed_at=c.committed_at, is_anchored=c.is_anchored, on_request=c.on_request)
    if with_anchor:
        tail.update(anchor_transaction_output(c), anchored_at=c.anchored_at)
    return tail


def anchor_transaction_output(c: CommitmentRow) -> dict[str, Any]:
    """The transaction that anchored the commitment: chain id, hash and block, ``null`` until anchored."""
    return {
        "chain_id": c.chain_id,
        "chain_tx_hash": _hex(c.chain_tx_hash),
        "chain_block_number": c.chain_block_number,
    }


def proof_output(proof: EventProof, c: CommitmentRow, *, root_name: str) -> dict[str, Any]:
    return {
        "sequence_number": proof.sequence_number,
        "batch_id": c.batch_id,
        root_name: c.merkle_root.hex(),
        "leaf_hash": proof.leaf_hash.hex(),
        "leaf_index": proof.leaf_index,
        "proof_path": [p.hex() for p in proof.path],
        "directions": list(proof.directions),
    }
