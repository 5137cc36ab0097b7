"""Ed25519 on OpenSSL through ``cryptography``, answering exactly as libsodium does.

``ves.signing`` uses it when PyNaCl is not installed, so that ``stateset-ves`` needs nothing but
``cryptography`` for Ed25519. Signing needs no care: Ed25519 signatures are deterministic, so
OpenSSL and libsodium sign byte for byte alike. Verification does: OpenSSL's is the cofactorless
check ``encode([S]B - [k]A) == R`` and refuses ``S ≥ L``, but takes any public key that decodes
to a curve point, so the identity as public key verifies ``R`` = identity, ``S = 0`` for *every*
message (ADR 0026). libsodium, the reference (``ves.ed25519_sodium``), refuses before the same
equation: ``S ≥ L``, an ``R`` of small order, a non-canonical public key and a public key of
small order. Those refusals are checked here first, in Python (``ves.ed25519_points``), and
OpenSSL does the rest; tests/ves/test_ed25519_backends.py holds the two backends to the same
answers.
"""

from __future__ import annotations

import functools

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ves.ed25519_points import (
    encodes_small_order_point,
    is_canonical_encoding,
    is_canonical_scalar,
    is_prime_order_point_encoding,
)

__all__ = ["is_usable_public_key", "public_key_from_seed", "sign", "verify"]


def public_key_from_seed(seed: bytes) -> bytes:
    """The 32-byte public key of a 32-byte Ed25519 seed."""
    return _private_key(seed).public_key().public_bytes_raw()


def sign(seed: bytes, message: bytes) -> bytes:
    """The deterministic 64-byte Ed25519 signature of ``message`` under ``seed``."""
    return _private_key(seed).sign(message)


@functools.lru_cache(maxsize=16)
def _private_key(seed: bytes) -> Ed25519PrivateKey:
    """The key of a seed, kept: loading it hashes the seed and multiplies the base point, about
    the cost of a signature, and a sequencer signs every receipt with the same seed. A seed that
    is not 32 bytes raises ``ValueError``."""
    return Ed25519PrivateKey.from_private_bytes(bytes(seed))


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is libsodium-valid for ``message`` under ``public_key``; malformed
    keys and signatures, of any length, are simply invalid.

    libsodium's refusals come first, as ``crypto_sign_verify_detached`` makes them; OpenSSL then
    checks the same cofactorless equation. Two of them cannot change a verdict today and are kept
    so that the refusals stay libsodium's, check for check: OpenSSL refuses ``S ≥ L`` itself
    (an older one might not), and a non-canonical key that is not of small order could only be
    forged with a discrete logarithm.
    """
    if len(public_key) != 32 or len(signature) != 64:
        return False
    if (
        not is_canonical_scalar(signature[32:])
        or encodes_small_order_point(signature[:32])
        or not is_canonical_encoding(public_key)
        or encodes_small_order_point(public_key)
    ):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(bytes(public_key)).verify(bytes(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def is_usable_public_key(public_key: bytes) -> bool:
    """Whether ``public_key`` is the canonical encoding of a point of the prime-order subgroup,
    computed in Python as libsodium's ``crypto_core_ed25519_is_valid_point`` does."""
    return is_prime_order_point_encoding(public_key)
