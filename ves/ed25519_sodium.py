"""Ed25519 on libsodium through PyNaCl: the backend ``ves.signing`` uses when PyNaCl is installed.

The server always installs it (ADR 0026): verification costs ~39 µs against OpenSSL's ~63 µs, a
third of the web CPU of a signed event. Its answers are the reference the OpenSSL backend
(``ves.ed25519_openssl``) matches: ``crypto_sign_verify_detached`` refuses ``S ≥ L``, an ``R`` or
public key of small order and a non-canonical public key, then checks ``[S]B - [k]A``, encoded,
equals ``R`` byte for byte (the cofactorless equation). Importing this module needs PyNaCl,
1.6.2 or later for ``is_usable_public_key`` to match: the libsodium bundled before it (CVE-2025-69277)
accepted a key ``P + T`` with ``T`` the point of order two.

Plain Ed25519 over messages of any length; ``ves.signing`` adds VES's rule that messages are
32-byte hashes.
"""

from __future__ import annotations

import functools

from nacl.bindings import crypto_core_ed25519_is_valid_point
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

__all__ = ["is_usable_public_key", "public_key_from_seed", "sign", "verify"]


def public_key_from_seed(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte Ed25519 seed."""
    return bytes(_signing_key(seed).verify_key)


def sign(seed: bytes, message: bytes) -> bytes:
    """The deterministic 64-byte Ed25519 signature of ``message`` under ``seed``."""
    return _signing_key(seed).sign(message).signature


@functools.lru_cache(maxsize=16)
def _signing_key(seed: bytes) -> SigningKey:
    """The key of a seed, kept: deriving it costs about as much as a signature, and a sequencer
    signs every receipt with the same seed. A seed that is not 32 bytes raises ``ValueError``."""
    return SigningKey(bytes(seed))


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is libsodium-valid for ``message`` under ``public_key``; malformed
    keys and signatures, of any length, are simply invalid."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        VerifyKey(bytes(public_key)).verify(message, signature)
    except (BadSignatureError, ValueError):
        return False
    return True


def is_usable_public_key(public_key: bytes) -> bool:
    """Whether ``public_key`` is the canonical encoding of a point of the prime-order subgroup
    (libsodium's ``crypto_core_ed25519_is_valid_point``)."""
    return len(public_key) == 32 and bool(crypto_core_ed25519_is_valid_point(bytes(public_key)))
