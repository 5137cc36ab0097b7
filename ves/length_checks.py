"""Length checks of hashes and proof paths, shared by the tree modules.

:mod:`ves.merkle`, :mod:`ves.legacy_merkle` and :mod:`ves.rfc6962` refuse malformed input with
the same messages, each raising its own error class; these factories build their checks once at
import, so a check costs one plain function call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["HASH_LEN", "hash_check", "proof_check"]

HASH_LEN = 32


def hash_check(error: type[ValueError]) -> Callable[[bytes, str], None]:
    """A ``check(value, what)`` that raises ``error`` unless ``value`` is 32 bytes."""

    def check_hash(value: bytes, what: str) -> None:
        if len(value) != HASH_LEN:
            raise error(f"{what} must be {HASH_LEN} bytes, got {len(value)}")

    return check_hash


def proof_check(error: type[ValueError], *, max_elements: int) -> Callable[[Sequence[bytes]], None]:
    """A ``check(proof)`` that raises ``error`` for more than ``max_elements`` or a non-32-byte element."""
    check_hash = hash_check(error)

    def check_proof(proof: Sequence[bytes]) -> None:
        if len(proof) > max_elements:
            raise error(f"a proof has at most {max_elements} elements, got {len(proof)}")
        for element in proof:
            check_hash(element, "proof element")

    return check_proof
