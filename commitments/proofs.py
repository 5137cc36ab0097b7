"""Inclusion proofs of committed events, rebuilt from the stored leaves.

The tree is rebuilt from the events of the commitment's range and its root compared with the
stored one before any proof is served: a store that no longer matches its commitment is a
loud 500, never a proof that does not verify. Built trees are kept in a per-process LRU bounded
in bytes, so the first proof of a batch pays the rebuild and later ones cost a few lookups.
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace

from django.conf import settings

from commitments import errors
from commitments.selectors import CommitmentRow, commitment_covering, commitment_get_for_tenant, leaf_hashes
from streams.kinds import StreamKind
from ves import legacy_merkle
from ves import merkle as ves_merkle
from ves.packed_hashes import HASH_SIZE, PackedHashes


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
    index = sequence_number - commitment.sequence_start
    proof = _tree(commitment).proof(index)  # a VES or a legacy proof: the same three fields
    return EventProof(sequence_number, index, proof.leaf_hash, proof.path, proof.directions)


@dataclass(frozen=True, slots=True)
class CommittedProof:
    """An event's inclusion proof and the commitment it leads to."""

    commitment: CommitmentRow
    proof: EventProof


def stream_proof_get(
    *,
    tenant_id: uuid.UUID,
    store_id: uuid.UUID,
    kind: StreamKind,
    sequence_number: int,
    batch_id: uuid.UUID | None,
) -> CommittedProof:
    """The inclusion proof of ``sequence_number`` of one stream, in commitment ``batch_id`` or,
    when ``None``, in the stream's chain commitment covering it.

    404 ``commitment_not_found`` when ``batch_id`` is not a commitment of this stream (and kind),
    404 ``sequence_not_committed`` when no chain commitment covers the sequence, 400
    ``sequence_outside_commitment`` when ``batch_id`` does not cover it. Reads only.
    """
    if batch_id is not None:
        commitment = commitment_get_for_tenant(tenant_id=tenant_id, batch_id=batch_id, kind=kind)
        if commitment is None or (commitment.tenant_id, commitment.store_id) != (tenant_id, store_id):
            raise errors.CommitmentNotFoundError(f"Commitment {batch_id} is not a commitment of this stream.")
    else:
        commitment = commitment_covering(
            tenant_id=tenant_id, store_id=store_id, kind=kind, sequence_number=sequence_number
        )
        if commitment is None:
            raise errors.SequenceNotCommittedError(f"No commitment of this stream covers sequence {sequence_number}.")
    return CommittedProof(commitment, commitment_proof(commitment=commitment, sequence_number=sequence_number))


Tree = ves_merkle.MerkleTree | legacy_merkle.LegacyMerkleTree

# Built trees of recent commitments, per process, bounded by the bytes of their hashes
# (settings.PROOF_TREE_CACHE_BYTES): a commitment may cover up to a million events, so a count
# of trees bounds nothing. A commitment never changes, and its tree is checked against the
# stored root when it is built, so a cached tree needs no re-validation. Kept trees are packed
# (one buffer a level: a 10,000-leaf VES tree is ~0.6 MB); a tree larger than the whole budget
# is not kept, and each of its proofs rebuilds it.
_trees: OrderedDict[uuid.UUID, tuple[Tree, int]] = OrderedDict()
_trees_bytes = 0
_trees_lock = threading.Lock()


def _tree(commitment: CommitmentRow) -> Tree:
    with _trees_lock:
        cached = _trees.get(commitment.batch_id)
        if cached is not None:
            _trees.move_to_end(commitment.batch_id)
            return cached[0]
    leaves = leaf_hashes(
        tenant_id=commitment.tenant_id,
        store_id=commitment.store_id,
        kind=commitment.stream_kind,
        sequence_start=commitment.sequence_start,
        sequence_end=commitment.sequence_end,
    )
    tree: Tree = (
        ves_merkle.build_tree(leaves) if commitment.stream_kind is StreamKind.VES else legacy_merkle.build_tree(leaves)
    )
    if len(leaves) != commitment.leaf_count or tree.root != commitment.merkle_root:
        raise errors.CommitmentIntegrityError(f"Commitment {commitment.batch_id} does not match the stored events.")
    budget = settings.PROOF_TREE_CACHE_BYTES
    size = sum(len(level) for level in tree.levels) * HASH_SIZE
    if size <= budget:
        _keep(
            commitment.batch_id, replace(tree, levels=tuple(PackedHashes(level) for level in tree.levels)), size, budget
        )
    return tree


def _keep(batch_id: uuid.UUID, tree: Tree, size: int, budget: int) -> None:
    global _trees_bytes
    with _trees_lock:
        if batch_id in _trees:  # another thread built it meanwhile
            return
        _trees[batch_id] = (tree, size)
        _trees_bytes += size
        while _trees_bytes > budget:
            _, (_, evicted) = _trees.popitem(last=False)
            _trees_bytes -= evicted


def tree_cache_bytes() -> int:
    """Bytes of hashes the process keeps for proofs (at most ``settings.PROOF_TREE_CACHE_BYTES``)."""
    with _trees_lock:
        return _trees_bytes


@dataclass(frozen=True, slots=True)
class InclusionClaim:
    """A client's claim that ``leaf_hash`` sits at ``leaf_index`` under ``root`` along ``path``."""

    leaf_hash: bytes
    root: bytes
    path: tuple[bytes, ...]
    leaf_index: int


def ves_proof_verify(
    *, claim: InclusionClaim, tree_depth: int | None, leaf_count: int | None, directions: list[bool] | None
) -> bool:
    """A client's VES inclusion proof checked (``POST /api/v1/ves/proofs/verify``).

    Without ``tree_depth``, the reference's verifier (directions from the index bits);
    with it, the strict verifier, which binds the tree shape (``leaf_count`` and ``directions``
    when given). A malformed proof is 400 ``invalid_proof``; one that does not lead to the root
    is ``False``. Reads nothing.
    """
    leaf, root, path, index = claim.leaf_hash, claim.root, claim.path, claim.leaf_index
    try:
        if tree_depth is None:
            return ves_merkle.verify_inclusion_reference(
                leaf_hash=leaf, merkle_root=root, proof_path=path, leaf_index=index
            )
        return ves_merkle.verify_inclusion_strict(
            leaf_hash=leaf,
            merkle_root=root,
            proof_path=path,
            leaf_index=index,
            tree_depth=tree_depth,
            leaf_count=leaf_count,
            directions=directions,
        )
    except ves_merkle.MerkleProofError as exc:
        raise errors.InvalidProofError(str(exc)) from exc


def legacy_proof_verify(*, claim: InclusionClaim, leaf_count: int | None, directions: list[bool] | None) -> bool:
    """A client's legacy inclusion proof checked (``POST /api/v1/proofs/verify``).

    With ``leaf_count`` the position is bound by the tree shape (``directions`` are not read);
    otherwise ``directions`` are used as given, or, when absent, come from the index bits as in
    the reference (which is only right where no level of the path was a promoted odd node).
    A malformed proof is 400 ``invalid_proof``; one that does not lead to the root is ``False``.
    Reads nothing.
    """
    leaf, root, path, index = claim.leaf_hash, claim.root, claim.path, claim.leaf_index
    try:
        if leaf_count is not None:
            return 0 <= index < leaf_count and legacy_merkle.verify_inclusion(
                leaf_hash=leaf, root=root, path=path, leaf_index=index, leaf_count=leaf_count
            )
        if directions is None:
            directions = [not (index >> level) & 1 for level in range(len(path))]
        return len(directions) == len(path) and legacy_merkle.verify_with_directions(
            leaf_hash=leaf, root=root, path=path, directions=directions
        )
    except legacy_merkle.LegacyProofError as exc:
        raise errors.InvalidProofError(str(exc)) from exc
