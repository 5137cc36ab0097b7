"""Inclusion proofs of committed events, rebuilt from the stored leaves.

The tree is rebuilt from the events of the commitment's range and its root compared with the
stored one before any proof is served: a store that no longer matches its commitment is a
loud 500, never a proof that does not verify.
"""

from __future__ import annotations

from dataclasses import dataclass

from commitments import errors
from commitments.selectors import CommitmentRow, leaf_hashes
from events.streams import StreamKind
from sequencer_project.api.errors import SequencerError
from ves import legacy_merkle
from ves import merkle as ves_merkle


class CommitmentIntegrityError(SequencerError):
    code = "commitment_integrity"
    http_status = 500
    title = "The stored events no longer match their commitment"


@dataclass(frozen=True, slots=True)
class EventProof:
    sequence_number: int
    leaf_index: int
    leaf_hash: bytes
    path: tuple[bytes, ...]
    directions: tuple[bool, ...]


def commitment_proof(*, commitment: CommitmentRow, sequence_number: int) -> EventProof:
    """The inclusion proof of ``sequence_number`` in ``commitment`` (VES or legacy tree)."""
    if not commitment.sequence_start <= sequence_number <= commitment.sequence_end:
        raise errors.SequenceOutsideCommitmentError(
            f"Sequence {sequence_number} is outside {commitment.sequence_start}..{commitment.sequence_end} "
            f"of commitment {commitment.batch_id}."
        )
    leaves = leaf_hashes(
        tenant_id=commitment.tenant_id,
        store_id=commitment.store_id,
        kind=commitment.stream_kind,
        sequence_start=commitment.sequence_start,
        sequence_end=commitment.sequence_end,
    )
    index = sequence_number - commitment.sequence_start
    if commitment.stream_kind is StreamKind.VES:
        tree = ves_merkle.build_tree(leaves)
        root = tree.root
        ves_proof = tree.proof(index) if root == commitment.merkle_root else None
        proof = (ves_proof.leaf_hash, ves_proof.path, ves_proof.directions) if ves_proof else None
    else:
        legacy_tree = legacy_merkle.build_tree(leaves)
        root = legacy_tree.root
        legacy_proof = legacy_tree.proof(index) if root == commitment.merkle_root else None
        proof = (legacy_proof.leaf_hash, legacy_proof.path, legacy_proof.directions) if legacy_proof else None
    if proof is None or len(leaves) != commitment.leaf_count:
        raise CommitmentIntegrityError(f"Commitment {commitment.batch_id} does not match the stored events.")
    leaf, path, directions = proof
    return EventProof(sequence_number, index, leaf, path, directions)
