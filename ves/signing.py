"""Ed25519 over the 32-byte VES hashes (pure RFC 8032 Ed25519, not Ed25519ph).

Agents sign the event signing hash; the sequencer signs receipt hashes. Keys are the 32-byte
RFC 8032 seed (private) and the 32-byte compressed point (public).
"""

from __future__ import annotations

import functools

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = ["public_key_from_seed", "sign", "verify"]


def public_key_from_seed(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte Ed25519 seed."""
    return Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(seed: bytes, message_hash: bytes) -> bytes:
    """Deterministic 64-byte Ed25519 signature of ``message_hash`` (32 bytes) under ``seed``."""
    if len(message_hash) != 32:
        raise ValueError("VES signs 32-byte hashes")
    return _private_key(seed).sign(message_hash)


@functools.lru_cache(maxsize=16)
def _private_key(seed: bytes) -> Ed25519PrivateKey:
    """The key object of a seed, kept: loading one costs as much as a signature (~20 µs), and a
    sequencer signs every receipt with the same seed."""
    return Ed25519PrivateKey.from_private_bytes(seed)


def verify(public_key: bytes, message_hash: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message_hash`` under ``public_key``.

    Malformed keys or signatures (wrong length, not a curve point) are simply invalid.
    """
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message_hash)
    except (InvalidSignature, ValueError):
        return False
    return True
