"""A standard RFC 6962 / RFC 9162 Merkle tree, with an incremental, store-backed log.

This tree is what Certificate Transparency, Tessera, Sigstore and Go's sumdb verify, so proofs over
it can be checked with standard tooling. It sits beside the VES tree (:mod:`ves.merkle`), which is
the reference-compatible format. Byte layouts and the algorithms are in ``docs/proofs.md``::

    leaf  = H(0x00 || data)             empty tree = H("")
    node  = H(0x01 || left || right)    MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n])), k = largest 2^j < n

Two layers:

* Pure functions over a list of leaf hashes (:func:`root`, :func:`inclusion_proof`,
  :func:`consistency_proof`) that recompute everything; they state the RFC definitions literally
  and are the oracle in tests.
* :class:`MerkleLog`: a log that appends leaves through a :class:`CompactRange` (the frontier of
  perfect subtrees) and writes every *complete* perfect subtree hash, keyed by ``(level, index)``,
  to a :class:`NodeStore`. A perfect subtree never changes once complete, so stored nodes are
  immutable. Any root, inclusion proof or consistency proof for any size up to the log's size is
  assembled from at most about ``2 * log2(n)`` stored nodes, fetched in one ``get_nodes`` call.
  The Django side can persist the nodes in a table ``(stream, level, index) -> hash``.

Node ``(level, index)`` is the root of the perfect subtree over leaves
``[index * 2**level, (index + 1) * 2**level)``; level 0 holds the leaf hashes themselves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from ves.length_checks import hash_check, proof_check

__all__ = [
    "EMPTY_ROOT",
    "CompactRange",
    "InMemoryNodeStore",
    "MerkleLog",
    "NodeId",
    "NodeStore",
    "ProofError",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "perfect_subtrees",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
_HASH_LEN = 32
_MAX_SIZE = 2**64 - 1
# No valid proof for a u64-sized tree is longer than 65 hashes; anything far longer is refused before
# hashing so a verify endpoint cannot be made to check megabytes of input.
_MAX_PROOF_ELEMENTS = 128
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256

#: ``(level, index)``: the perfect subtree over leaves ``[index << level, (index + 1) << level)``.
NodeId = tuple[int, int]


class ProofError(ValueError):
    """Malformed input (a hash that is not 32 bytes, a size out of range, a missing stored node).

    A well-formed proof that does not verify is not an error: the verifiers return ``False``.
    """


def leaf_hash(data: bytes) -> bytes:
    """``H(0x00 || data)``: the hash of one log entry."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``H(0x01 || left || right)``: an interior node."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two strictly below ``size`` (``size >= 2``)."""
    return 1 << ((size - 1).bit_length() - 1)


_check_hash = hash_check(ProofError)
_check_proof = proof_check(ProofError, max_elements=_MAX_PROOF_ELEMENTS)


def _check_size(value: int, what: str) -> None:
    if not 0 <= value <= _MAX_SIZE:
        raise ProofError(f"{what} must be between 0 and 2**64 - 1, got {value}")


# ---------------------------------------------------------------------------------------------
# Full recomputation: the RFC definitions, stated literally.
# ---------------------------------------------------------------------------------------------


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes: level by level, an odd last node is carried up unchanged."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    sha256, prefix = _sha256, _NODE_PREFIX
    while len(level) > 1:
        paired = [sha256(prefix + left + right).digest() for left, right in zip(level[0::2], level[1::2], strict=False)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def inclusion_proof(leaf_index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """``PATH(m, D[n])`` of RFC 9162 §2.1.3.1, bottom-up, by full recomputation."""
    if not 0 <= leaf_index < len(leaf_hashes):
        raise ProofError(f"leaf_index {leaf_index} is outside a tree of {len(leaf_hashes)} leaves")
    path: list[bytes] = []
    begin, end = 0, len(leaf_hashes)
    while end - begin > 1:
        k = _split(end - begin)
        if leaf_index < begin + k:
            path.append(root(leaf_hashes[begin + k : end]))
            end = begin + k
        else:
            path.append(root(leaf_hashes[begin : begin + k]))
            begin += k
    path.reverse()
    return path


def consistency_proof(old_size: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """``PROOF(m, D[n])`` of RFC 9162 §2.1.4.1 by full recomputation (empty for m = 0 or m = n)."""
    new_size = len(leaf_hashes)
    if not 0 <= old_size <= new_size:
        raise ProofError(f"old_size {old_size} is outside 0..{new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    begin, end, m, known = 0, new_size, old_size, True
    while m != end - begin:
        k = _split(end - begin)
        if m <= k:
            proof.append(root(leaf_hashes[begin + k : end]))
            end = begin + k
        else:
            proof.append(root(leaf_hashes[begin : begin + k]))
            begin, m, known = begin + k, m - k, False
    if not known:
        proof.append(root(leaf_hashes[begin:end]))
    proof.reverse()
    return proof


# ---------------------------------------------------------------------------------------------
# Verification: RFC 9162 §2.1.3.2 and §2.1.4.2.
# ---------------------------------------------------------------------------------------------


def verify_inclusion(*, leaf_index: int, tree_size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Verify an inclusion proof (RFC 9162 §2.1.3.2); a proof of the wrong length fails."""
    _check_size(leaf_index, "leaf_index")
    _check_size(tree_size, "tree_size")
    _check_hash(leaf_hash, "leaf_hash")
    _check_hash(root, "root")
    _check_proof(proof)
    if leaf_index >= tree_size:
        return False
    fn, sn, r = leaf_index, tree_size - 1, leaf_hash
    for c in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(c, r)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    *, old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Verify that the tree of ``new_size`` extends the tree of ``old_size`` (RFC 9162 §2.1.4.2).

    Equal sizes need an empty proof and equal roots; an old size of 0 needs an empty proof.
    """
    _check_size(old_size, "old_size")
    _check_size(new_size, "new_size")
    _check_hash(old_root, "old_root")
    _check_hash(new_root, "new_root")
    _check_proof(proof)
    if old_size > new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0


# ---------------------------------------------------------------------------------------------
# Incremental log: frontier + store of complete perfect subtrees.
# ---------------------------------------------------------------------------------------------


def perfect_subtrees(begin: int, end: int) -> list[NodeId]:
    """Split leaves ``[begin, end)`` into maximal aligned perfect subtrees, left to right.

    For ``[0, n)`` this is one subtree per set bit of ``n``, largest first; folding their hashes
    from the right (``node(h0, node(h1, ... h_last))``) gives ``MTH`` of the range whenever the
    range is a subtree of the RFC recursion, which every range used here is.
    """
    ids: list[NodeId] = []
    while begin < end:
        level = (end - begin).bit_length() - 1
        if begin:
            level = min(level, (begin & -begin).bit_length() - 1)
        ids.append((level, begin >> level))
        begin += 1 << level
    return ids


def _fold_right(hashes: Sequence[bytes]) -> bytes:
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = _sha256(_NODE_PREFIX + left + result).digest()
    return result


class NodeStore(Protocol):
    """Where a :class:`MerkleLog` keeps complete perfect-subtree hashes.

    Implementations: :class:`InMemoryNodeStore` here; a database table keyed by
    ``(stream, level, index)`` on the server. Nodes are immutable once written, so writes may be
    idempotent inserts (``ON CONFLICT DO NOTHING``) and reads may be cached forever.
    """

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        """The hashes of ``ids``, in order. Raise :class:`KeyError` for a node never written."""
        ...

    def put_nodes(self, nodes: Sequence[tuple[NodeId, bytes]]) -> None:
        """Store complete nodes. Called once per append batch, nodes in creation order."""
        ...


class InMemoryNodeStore:
    """A :class:`NodeStore` holding one contiguous ``bytearray`` per level (32 bytes a node).

    Memory is about 64 MB per million leaves. Nodes of a level must arrive in index order, which
    is how :class:`MerkleLog` writes them; rewriting an existing node with a different hash is
    refused, since perfect subtrees never change.
    """

    def __init__(self) -> None:
        self._levels: list[bytearray] = []
        self.reads = 0  # number of node lookups served, for tests and benchmarks

    def get_nodes(self, ids: Sequence[NodeId]) -> list[bytes]:
        """See :meth:`NodeStore.get_nodes`."""
        out: list[bytes] = []
        for level, index in ids:
            if level >= len(self._levels) or not 0 <= index < len(self._levels[level]) // _HASH_LEN:
                raise KeyError((level, index))
            start = index * _HASH_LEN
            out.append(bytes(self._levels[level][start : start + _HASH_LEN]))
        self.reads += len(ids)
        return out

    def put_nodes(self, nodes: Sequence[tuple[NodeId, bytes]]) -> None:
        """See :meth:`NodeStore.put_nodes`."""
        for (level, index), value in nodes:
            _check_hash(value, "node hash")
            while len(self._levels) <= level:
                self._levels.append(bytearray())
            data = self._levels[level]
            count = len(data) // _HASH_LEN
            if index == count:
                data += value
            elif 0 <= index < count:
                if data[index * _HASH_LEN : (index + 1) * _HASH_LEN] != value:
                    raise ProofError(f"node {(level, index)} is already stored with a different hash")
            else:
                raise ProofError(f"node {(level, index)} written out of order (level has {count} nodes)")

    def node_count(self) -> int:
        """How many nodes are stored (``2n - popcount(n)`` for a log of n leaves)."""
        return sum(len(level) // _HASH_LEN for level in self._levels)


class CompactRange:
    """The frontier of a tree of ``size`` leaves: one perfect-subtree hash per set bit of ``size``.

    ``hashes[0]`` is the largest (leftmost) subtree. Appending a leaf merges equal-sized subtrees
    like a binary counter and reports every node that became complete, so a caller can persist
    them. Memory is O(log n) and no old leaf is ever rehashed.
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        _check_size(size, "size")
        if len(hashes) != size.bit_count():
            raise ProofError(f"a range of {size} leaves has {size.bit_count()} subtree hashes, got {len(hashes)}")
        for value in hashes:
            _check_hash(value, "subtree hash")
        self.size = size
        self.hashes = list(hashes)

    @classmethod
    def from_store(cls, size: int, store: NodeStore) -> CompactRange:
        """Rebuild the frontier of ``size`` from stored nodes (popcount(size) lookups)."""
        return cls(size, store.get_nodes(cls.node_ids_for(size)) if size else [])

    @staticmethod
    def node_ids_for(size: int) -> list[NodeId]:
        """The node ids of the frontier of ``size``, largest first."""
        return perfect_subtrees(0, size)

    def append(self, leaf: bytes) -> list[tuple[NodeId, bytes]]:
        """Add one leaf hash; return the nodes completed by it (the leaf itself first)."""
        _check_hash(leaf, "leaf hash")
        if self.size == _MAX_SIZE:
            raise ProofError("the tree is full")
        index = self.size
        created: list[tuple[NodeId, bytes]] = [((0, index), leaf)]
        current, level = leaf, 0
        while (index >> level) & 1:
            current = _sha256(_NODE_PREFIX + self.hashes.pop() + current).digest()
            level += 1
            created.append(((level, index >> level), current))
        self.hashes.append(current)
        self.size += 1
        return created

    def extend(self, leaves: Iterable[bytes], *, level_stride: int = 1) -> list[tuple[NodeId, bytes]]:
        """Append many leaf hashes at once; same result as :meth:`append` for each, but faster.

        Works level by level: the new nodes of a level form one contiguous run, which is paired
        with list comprehensions after borrowing the frontier's subtree on its left when the run
        starts at an odd index. Returns every completed node, level by level; with
        ``level_stride`` > 1 only the nodes of levels that are multiples of it (a tiled store
        keeps nothing else, so the others are never materialised).
        """
        run = list(leaves)
        for leaf in run:
            _check_hash(leaf, "leaf hash")
        if len(run) > _MAX_SIZE - self.size:
            raise ProofError("the tree is full")
        old_size, count = self.size, len(run)
        levels = [level for level in range(old_size.bit_length() - 1, -1, -1) if (old_size >> level) & 1]
        remaining = dict(zip(levels, self.hashes, strict=True))
        created: list[tuple[NodeId, bytes]] = []
        sha256, prefix = _sha256, _NODE_PREFIX
        start, level = old_size, 0
        while run:
            if not level % level_stride:
                created.extend(((level, start + offset), value) for offset, value in enumerate(run))
            if start & 1:
                run.insert(0, remaining.pop(level))
                start -= 1
            if len(run) & 1:
                remaining[level] = run.pop()
            run = [sha256(prefix + left + right).digest() for left, right in zip(run[0::2], run[1::2], strict=True)]
            start >>= 1
            level += 1
        self.size = old_size + count
        self.hashes = [remaining[level] for level in sorted(remaining, reverse=True)]
        return created

    def root(self) -> bytes:
        """MTH of the ``size`` leaves."""
        return _fold_right(self.hashes) if self.hashes else EMPTY_ROOT


class MerkleLog:
    """An append-only RFC 6962 tree over a :class:`NodeStore`.

    Appends cost O(1) amortised hashes per leaf; roots and proofs for any past size need
    O(log n) node lookups, all in one :meth:`NodeStore.get_nodes` call. The log itself holds only
    the frontier, so a server process reopens it with ``MerkleLog(store, size)``.
    """

    def __init__(self, store: NodeStore, size: int = 0, *, level_stride: int = 1, load_frontier: bool = True) -> None:
        """Reopen a log of ``size`` leaves. ``level_stride``: the store keeps only nodes of levels
        that are multiples of it (``ves.tiles``) and ``append`` hands it nothing else.
        ``load_frontier=False`` defers reading the frontier until an append needs it: a log opened
        only to serve proofs then reads nothing but the nodes of its proofs and roots (a missing
        node raises :class:`KeyError` then rather than here)."""
        _check_size(size, "size")
        self.store = store
        self.level_stride = level_stride
        self._size = size
        self._frontier: CompactRange | None = CompactRange.from_store(size, store) if load_frontier else None

    @property
    def size(self) -> int:
        """Number of leaves appended."""
        return self._size

    def frontier(self) -> CompactRange:
        """A copy of the current frontier."""
        if self._frontier is None:
            self._frontier = CompactRange.from_store(self._size, self.store)
        return CompactRange(self._frontier.size, self._frontier.hashes)

    def append(self, leaf_hashes: Iterable[bytes]) -> int:
        """Append leaf hashes in order, write the completed nodes in one call, return the new size.

        The store is written before the in-memory frontier is replaced, so a failed write leaves
        the log at its old size.
        """
        frontier = self.frontier()
        created = frontier.extend(leaf_hashes, level_stride=self.level_stride)
        if created:
            self.store.put_nodes(created)
        self._frontier, self._size = frontier, frontier.size
        return frontier.size

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all)."""
        size = self._size_arg(size)
        if size == 0:
            return EMPTY_ROOT
        if size == self.size and self._frontier is not None:
            return self._frontier.root()
        return _fold_right(self.store.get_nodes(perfect_subtrees(0, size)))

    def inclusion_proof(self, leaf_index: int, size: int | None = None) -> list[bytes]:
        """``PATH(leaf_index, D[size])``, bottom-up, equal to :func:`inclusion_proof`."""
        size = self._size_arg(size)
        if not 0 <= leaf_index < size:
            raise ProofError(f"leaf_index {leaf_index} is outside a tree of {size} leaves")
        plan: list[list[NodeId]] = []
        begin, end = 0, size
        while end - begin > 1:
            k = _split(end - begin)
            if leaf_index < begin + k:
                plan.append(perfect_subtrees(begin + k, end))
                end = begin + k
            else:
                plan.append(perfect_subtrees(begin, begin + k))
                begin += k
        plan.reverse()
        return self._assemble(plan)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """``PROOF(old_size, D[new_size])``, equal to :func:`consistency_proof`."""
        new_size = self._size_arg(new_size)
        if not 0 <= old_size <= new_size:
            raise ProofError(f"old_size {old_size} is outside 0..{new_size}")
        if old_size in (0, new_size):
            return []
        plan: list[list[NodeId]] = []
        begin, end, m, known = 0, new_size, old_size, True
        while m != end - begin:
            k = _split(end - begin)
            if m <= k:
                plan.append(perfect_subtrees(begin + k, end))
                end = begin + k
            else:
                plan.append(perfect_subtrees(begin, begin + k))
                begin, m, known = begin + k, m - k, False
        if not known:
            plan.append(perfect_subtrees(begin, end))
        plan.reverse()
        return self._assemble(plan)

    def _size_arg(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise ProofError(f"size {size} is outside 0..{self.size}")
        return size

    def _assemble(self, plan: list[list[NodeId]]) -> list[bytes]:
        """Fetch every node the plan names in one call, then fold each entry into one hash."""
        wanted = list(dict.fromkeys(node for entry in plan for node in entry))
        found = dict(zip(wanted, self.store.get_nodes(wanted), strict=True))
        return [_fold_right([found[node] for node in entry]) for entry in plan]
