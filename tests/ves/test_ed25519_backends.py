"""The two Ed25519 backends of ``ves.signing`` give the same answers (ADR 0026).

libsodium through PyNaCl (``ves.ed25519_sodium``) is the reference; OpenSSL through
``cryptography`` with libsodium's refusals checked first (``ves.ed25519_openssl``) must sign the
same bytes, accept and refuse the same signatures and find the same public keys usable: on honest
signatures, tampered ones, every encoding of a point of small order, non-canonical keys and
``R``s, ``S ≥ L``, random bytes, and keys and ``R``s with a small-order component. Each comparison
imports both backend modules itself, whichever one ``ves.signing`` chose.

Every verdict goes through ``verdict``/``usable``/``signed``, which ask the OpenSSL backend and
assert libsodium answers the same. Only the library is needed (no Django), so this runs in the
``stateset-ves`` venv too; where PyNaCl is not installed there, the OpenSSL backend alone is held
to the answers these tests expect, and the few tests about libsodium itself skip.
"""

from __future__ import annotations

import hashlib
import importlib
import itertools
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

import ves
from ves import ed25519_openssl as openssl
from ves import signing
from ves.ed25519_points import (
    FIELD_PRIME,
    GROUP_ORDER,
    IDENTITY,
    Point,
    add,
    decode,
    encode,
    is_identity,
    multiply,
)
from ves.signing import Ed25519Backend

# Loaded machines run these slowly; the heavier properties (scalar multiplications in Python)
# take fewer examples.
quick = settings(deadline=None)
heavy = settings(deadline=None, max_examples=25)

seeds = st.binary(min_size=32, max_size=32)
messages = st.binary(max_size=80)

# RFC 8032 §7.1, TEST 1 to TEST 3: secret key (seed), public key, message, signature.
RFC8032_VECTORS = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]

# libsodium's blocklist (ge25519_has_small_order in ed25519_ref10.c), which it compares with the
# sign bit cleared: the y of every point of small order, plus the non-canonical p and p + 1.
LIBSODIUM_BLOCKLIST = [
    bytes.fromhex("00" * 32),  # y = 0: the two points of order 4
    bytes.fromhex("01" + "00" * 31),  # y = 1: the identity
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),  # order 8
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),  # order 8
    bytes.fromhex("ec" + "ff" * 30 + "7f"),  # y = p - 1: order 2
    bytes.fromhex("ed" + "ff" * 30 + "7f"),  # y = p, non-canonical 0
    bytes.fromhex("ee" + "ff" * 30 + "7f"),  # y = p + 1, non-canonical 1
]
CANONICAL_SMALL_ORDER_ENCODINGS = [  # the eight points of small order, as an encoder writes them
    *LIBSODIUM_BLOCKLIST[:5],
    *(entry[:31] + bytes([entry[31] | 0x80]) for entry in (LIBSODIUM_BLOCKLIST[0], *LIBSODIUM_BLOCKLIST[2:4])),
]
SMALL_ORDER_ENCODINGS = [
    *LIBSODIUM_BLOCKLIST,
    *(entry[:31] + bytes([entry[31] | 0x80]) for entry in LIBSODIUM_BLOCKLIST),
]


def point_of(encoding: bytes) -> Point:
    """The point a canonical encoding names (the tests' own inputs, so it decodes)."""
    point = decode(encoding)
    assert point is not None, encoding.hex()
    return point


BASE_POINT = point_of(bytes.fromhex("58" + "66" * 31))  # y = 4/5 (RFC 8032 §5.1)
ORDER_8_POINT = point_of(LIBSODIUM_BLOCKLIST[2])
TORSION = [multiply(k, ORDER_8_POINT) for k in range(8)]  # TORSION[k] = [k]T, T of order 8

# Every non-canonical encoding: y = p + i for i < 19 (y < 2^255), with either sign bit.
NON_CANONICAL_ENCODINGS = [
    ((FIELD_PRIME + i) | sign << 255).to_bytes(32, "little") for i in range(19) for sign in (0, 1)
]


def _libsodium_backend() -> Ed25519Backend | None:
    """The libsodium backend where PyNaCl imports (always in the server's venv), else ``None``."""
    try:
        importlib.import_module("nacl")
    except ImportError:
        return None
    from ves import ed25519_sodium

    return ed25519_sodium


SODIUM = _libsodium_backend()
needs_libsodium = pytest.mark.skipif(SODIUM is None, reason="PyNaCl is not installed")


@pytest.fixture(params=["sodium", "openssl"])
def backend(request: pytest.FixtureRequest) -> Ed25519Backend:
    """Each backend in turn, for what both must do on their own (RFC 8032)."""
    if request.param == "sodium":
        if SODIUM is None:
            pytest.skip("PyNaCl is not installed")
        return SODIUM
    return openssl


def verdict(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """The OpenSSL backend's verdict on a signature, asserted to be libsodium's."""
    answer = openssl.verify(public_key, message, signature)
    if SODIUM is not None:
        assert SODIUM.verify(public_key, message, signature) is answer, "the backends disagree"
    return answer


def usable(public_key: bytes) -> bool:
    """Whether the OpenSSL backend finds a public key usable, asserted to be libsodium's answer."""
    answer = openssl.is_usable_public_key(public_key)
    if SODIUM is not None:
        assert SODIUM.is_usable_public_key(public_key) is answer, "the backends disagree"
    return answer


def public_key_of(seed: bytes) -> bytes:
    """The public key of a seed by the OpenSSL backend, asserted to be libsodium's."""
    public_key = openssl.public_key_from_seed(seed)
    if SODIUM is not None:
        assert SODIUM.public_key_from_seed(seed) == public_key
    return public_key


def signed(seed: bytes, message: bytes) -> bytes:
    """The signature of a message by the OpenSSL backend, asserted to be libsodium's byte for byte."""
    signature = openssl.sign(seed, message)
    if SODIUM is not None:
        assert SODIUM.sign(seed, message) == signature
    return signature


def openssl_alone_accepts(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """OpenSSL's verdict without the libsodium pre-checks: what ADR 0026 guards against."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def secret_scalar(seed: bytes) -> int:
    """The clamped secret scalar ``a`` of a seed (RFC 8032 §5.1.5): the public key is ``[a]B``."""
    a = int.from_bytes(hashlib.sha512(seed).digest()[:32], "little")
    return (a & ((1 << 254) - 8)) | 1 << 254


def challenge(r: bytes, public_key: bytes, message: bytes) -> int:
    """``k = SHA-512(R || A || M) mod L`` (RFC 8032 §5.1.6)."""
    return int.from_bytes(hashlib.sha512(r + public_key + message).digest(), "little") % GROUP_ORDER


def with_torsion(public_key: bytes, k: int) -> bytes:
    """The encoding of ``A + [k]T``: a key with a small-order component when ``k`` is not 0 mod 8."""
    return encode(add(point_of(public_key), TORSION[k % 8]))


# ---- the constructions the tests rely on ---------------------------------------------------


def test_the_torsion_points_are_the_eight_points_of_small_order_libsodium_blocks() -> None:
    assert not is_identity(multiply(4, ORDER_8_POINT))
    assert is_identity(multiply(8, ORDER_8_POINT))
    encodings = {encode(point) for point in TORSION}
    assert len(encodings) == 8
    # Each canonical blocklist entry is the y of some of them; every one of them is blocked.
    assert {encoding[:31] + bytes([encoding[31] & 0x7F]) for encoding in encodings} == set(LIBSODIUM_BLOCKLIST[:5])
    assert encodings == set(CANONICAL_SMALL_ORDER_ENCODINGS)
    assert encodings <= set(SMALL_ORDER_ENCODINGS)
    assert encode(IDENTITY) == LIBSODIUM_BLOCKLIST[1]


@needs_libsodium
@given(seed=seeds, k=st.integers(0, 7))
@heavy
def test_point_arithmetic_agrees_with_libsodium(seed: bytes, k: int) -> None:
    from nacl.bindings import crypto_core_ed25519_add

    public_key = public_key_of(seed)
    assert with_torsion(public_key, k) == crypto_core_ed25519_add(public_key, encode(TORSION[k]))
    assert encode(multiply(secret_scalar(seed), BASE_POINT)) == public_key


# ---- signing: RFC 8032 and byte-identical signatures ---------------------------------------


@pytest.mark.parametrize(("seed", "public_key", "message", "signature"), RFC8032_VECTORS)
def test_each_backend_meets_rfc8032_test_vectors(
    backend: Ed25519Backend, seed: str, public_key: str, message: str, signature: str
) -> None:
    assert backend.public_key_from_seed(bytes.fromhex(seed)).hex() == public_key
    assert backend.sign(bytes.fromhex(seed), bytes.fromhex(message)).hex() == signature
    assert backend.verify(bytes.fromhex(public_key), bytes.fromhex(message), bytes.fromhex(signature))
    assert backend.is_usable_public_key(bytes.fromhex(public_key))
    forged = bytes.fromhex(signature)[:63] + bytes([bytes.fromhex(signature)[63] ^ 1])
    assert not backend.verify(bytes.fromhex(public_key), bytes.fromhex(message), forged)


@given(seed=seeds, message=messages)
@quick
def test_both_backends_sign_byte_for_byte_alike_and_accept_the_signatures(seed: bytes, message: bytes) -> None:
    public_key = public_key_of(seed)
    signature = signed(seed, message)

    assert verdict(public_key, message, signature)
    assert usable(public_key)


def test_both_backends_refuse_seeds_that_are_not_32_bytes(backend: Ed25519Backend) -> None:
    for seed in (bytes(31), bytes(33), b""):
        with pytest.raises(ValueError, match="32"):
            backend.sign(seed, bytes(32))
        with pytest.raises(ValueError, match="32"):
            backend.public_key_from_seed(seed)


# ---- verification: the same verdicts ---------------------------------------------------------


@given(seed=seeds, message=messages, bit=st.integers(0, 64 * 8 - 1))
@quick
def test_a_signature_with_any_bit_flipped_is_refused_by_both(seed: bytes, message: bytes, bit: int) -> None:
    signature = bytearray(signed(seed, message))
    signature[bit // 8] ^= 1 << bit % 8

    assert not verdict(public_key_of(seed), message, bytes(signature))


@given(seed=seeds, message=messages, bit=st.integers(0, 255))
@quick
def test_a_tampered_message_or_key_is_refused_by_both(seed: bytes, message: bytes, bit: int) -> None:
    public_key = public_key_of(seed)
    signature = signed(seed, message)
    key = bytearray(public_key)
    key[bit // 8] ^= 1 << bit % 8

    assert not verdict(bytes(key), message, signature)
    assert not verdict(public_key, message + b"\x00", signature)


@given(public_key=st.binary(min_size=32, max_size=32), message=messages, signature=st.binary(min_size=64, max_size=64))
@quick
def test_random_keys_and_signatures_are_refused_by_both(public_key: bytes, message: bytes, signature: bytes) -> None:
    assert not verdict(public_key, message, signature)


@given(public_key=st.binary(max_size=40), signature=st.binary(max_size=70))
@quick
def test_keys_and_signatures_of_the_wrong_length_are_invalid_for_both(public_key: bytes, signature: bytes) -> None:
    seed = bytes(32)
    if len(public_key) != 32:
        assert not verdict(public_key, b"m", signed(seed, b"m"))
    if len(signature) != 64:
        assert not verdict(public_key_of(seed), b"m", signature)


@given(seed=seeds, message=messages)
@quick
def test_s_at_or_above_l_is_refused_by_both(seed: bytes, message: bytes) -> None:
    public_key = public_key_of(seed)
    signature = signed(seed, message)
    s = int.from_bytes(signature[32:], "little")

    # S + L passes the same point equation; only the canonical S is accepted.
    for wide_s in (s + GROUP_ORDER, GROUP_ORDER, 2**256 - 1):
        assert not verdict(public_key, message, signature[:32] + wide_s.to_bytes(32, "little"))


@pytest.mark.parametrize("public_key", SMALL_ORDER_ENCODINGS, ids=lambda key: key.hex()[:8] + key.hex()[-2:])
def test_every_small_order_public_key_is_refused_for_the_forgeries_openssl_alone_accepts(public_key: bytes) -> None:
    # With A of small order, [S]B - [k]A is [S]B plus a small-order point: R = B + [j]T and S = 1
    # match it for some messages, and OpenSSL alone accepts a signature made without any secret.
    forgeries = 0
    candidates = [encode(add(BASE_POINT, point)) for point in TORSION]
    for message, r in itertools.product((bytes([i]) * 32 for i in range(32)), candidates):
        signature = r + (1).to_bytes(32, "little")
        forgeries += openssl_alone_accepts(public_key, message, signature)
        assert not verdict(public_key, message, signature)
    assert forgeries > 0
    assert not usable(public_key)


@given(seed=seeds, message=messages)
@quick
def test_an_r_of_small_order_is_refused_by_both_even_when_the_equation_holds(seed: bytes, message: bytes) -> None:
    public_key = public_key_of(seed)
    identity = LIBSODIUM_BLOCKLIST[1]
    # R the identity, S = k·a: [S]B - [k]A is the identity, so OpenSSL alone accepts.
    s = challenge(identity, public_key, message) * secret_scalar(seed) % GROUP_ORDER
    signature = identity + s.to_bytes(32, "little")

    assert openssl_alone_accepts(public_key, message, signature)
    assert not verdict(public_key, message, signature)
    for r in SMALL_ORDER_ENCODINGS:
        assert not verdict(public_key, message, r + signature[32:])


@pytest.mark.parametrize("r", CANONICAL_SMALL_ORDER_ENCODINGS, ids=lambda r: r.hex()[:8] + r.hex()[-2:])
def test_each_r_of_small_order_is_refused_by_both_when_a_mixed_key_makes_the_equation_hold(r: bytes) -> None:
    seed = bytes(range(32))
    mixed_key = with_torsion(public_key_of(seed), 1)  # A + T, T of order 8
    j = [encode(point) for point in TORSION].index(r)
    # S = k·a makes [S]B - [k](A + T) = -[k]T, which is R = [j]T when k = -j mod 8.
    message, k = next(
        (message, k)
        for message in (i.to_bytes(4, "little") for i in itertools.count())
        if (k := challenge(r, mixed_key, message)) % 8 == -j % 8
    )
    signature = r + (k * secret_scalar(seed) % GROUP_ORDER).to_bytes(32, "little")

    assert openssl_alone_accepts(mixed_key, message, signature)
    assert not verdict(mixed_key, message, signature)


@pytest.mark.parametrize("encoding", NON_CANONICAL_ENCODINGS, ids=lambda key: key.hex()[:2] + key.hex()[-2:])
def test_non_canonical_keys_and_rs_are_refused_by_both(encoding: bytes) -> None:
    seed = bytes(range(32))
    message = b"non-canonical"
    signature = signed(seed, message)

    assert not verdict(encoding, message, signature)
    assert not verdict(public_key_of(seed), message, encoding + signature[32:])
    assert not usable(encoding)


@given(seed=seeds, message=messages, j=st.integers(1, 7))
@heavy
def test_an_r_with_a_small_order_component_is_refused_by_both(seed: bytes, message: bytes, j: int) -> None:
    public_key = public_key_of(seed)
    r = int.from_bytes(hashlib.sha512(b"nonce" + seed + message).digest(), "little") % GROUP_ORDER
    r_point = add(multiply(r, BASE_POINT), TORSION[j])
    r_encoding = encode(r_point)
    k = challenge(r_encoding, public_key, message)
    s = (r + k * secret_scalar(seed)) % GROUP_ORDER
    # [8]([S]B - [k]A) == [8]R: a cofactored verifier would accept it; libsodium does not.
    difference = add(multiply(s, BASE_POINT), multiply(GROUP_ORDER - k, point_of(public_key)))  # [S]B - [k]A
    assert encode(multiply(8, difference)) == encode(multiply(8, r_point))

    assert not verdict(public_key, message, r_encoding + s.to_bytes(32, "little"))


@given(seed=seeds, message=messages, k=st.integers(1, 7), m=st.integers(0, 7))
@heavy
def test_a_key_with_a_small_order_component_verifies_alike_but_is_unusable_for_both(
    seed: bytes, message: bytes, k: int, m: int
) -> None:
    """A key ``A + [k]T`` is not refused by verification, in libsodium either: a signature that
    satisfies the cofactorless equation verifies under both; only registration refuses the key."""
    mixed_key = with_torsion(public_key_of(seed), k)
    j = m * math.gcd(k, 8) % 8  # R = [r]B + [j]T, with j in the subgroup [k]T generates
    # Try nonces until [k'][k]T = -[j]T, with k' = SHA-512(R || A' || M): then S = r + k'a
    # satisfies [S]B - [k'](A + [k]T) = [r]B - [k'k]T = R.
    r = int.from_bytes(hashlib.sha512(b"nonce" + seed + message).digest(), "little") % GROUP_ORDER
    r_point = add(multiply(r, BASE_POINT), TORSION[j])
    for _ in range(400):  # each try succeeds with odds of at least 1/8
        r_encoding = encode(r_point)
        k_prime = challenge(r_encoding, mixed_key, message)
        if (k_prime * k + j) % 8 == 0:
            break
        r, r_point = r + 1, add(r_point, BASE_POINT)
    else:
        pytest.fail("no nonce satisfied the equation in 400 tries")
    signature = r_encoding + ((r + k_prime * secret_scalar(seed)) % GROUP_ORDER).to_bytes(32, "little")

    assert verdict(mixed_key, message, signature)
    assert not usable(mixed_key)


# ---- usable public keys ----------------------------------------------------------------------


@given(public_key=st.binary(min_size=32, max_size=32))
@quick
def test_random_bytes_are_usable_keys_for_both_or_for_neither(public_key: bytes) -> None:
    usable(public_key)


@given(y=st.integers(0, 2**255 - 1), sign=st.booleans())
@heavy
def test_curve_points_plus_each_small_order_point_are_usable_keys_for_both_or_for_neither(y: int, sign: bool) -> None:
    encoding = (y | sign << 255).to_bytes(32, "little")
    point = decode(encoding)
    if point is None:
        assert not usable(encoding)
        return
    # P = Q + [i]T for a Q of prime order: exactly one of the P + [k]T is Q, usable unless Q is
    # the identity (P of small order itself).
    answers = [usable(encode(add(point, TORSION[k]))) for k in range(8)]
    assert answers.count(True) == (0 if encoding in SMALL_ORDER_ENCODINGS else 1)


@given(seed=seeds, k=st.integers(0, 7))
@heavy
def test_a_key_plus_a_point_of_small_order_is_unusable_for_both(seed: bytes, k: int) -> None:
    assert usable(with_torsion(public_key_of(seed), k)) is (k == 0)


def test_a_key_plus_the_point_of_order_two_is_unusable_for_both() -> None:
    """The case libsodium before its CVE-2025-69277 fix (PyNaCl < 1.6.2) accepted: ``[L]P`` is
    then the point of order two, whose X is zero too."""
    assert not usable(with_torsion(public_key_of(bytes(32)), 4))
    assert not usable(bytes([0x95]) + bytes([0x99]) * 31)  # libsodium's own test point


def test_keys_of_the_wrong_length_are_unusable(backend: Ed25519Backend) -> None:
    key = backend.public_key_from_seed(bytes(32))
    for wrong in (key[:31], key + b"\x00", b""):
        assert not backend.is_usable_public_key(wrong)


# ---- which backend ves.signing uses ----------------------------------------------------------


@needs_libsodium
def test_signing_uses_libsodium_when_pynacl_imports() -> None:
    assert signing.BACKEND is SODIUM


PROBE_WITHOUT_PYNACL = """
import sys
sys.modules["nacl"] = None  # import nacl now raises ImportError, as where PyNaCl is not installed
from ves import ed25519_openssl, signing
assert signing.BACKEND is ed25519_openssl, signing.BACKEND
assert "ves.ed25519_sodium" not in sys.modules
seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
digest = bytes(range(32))
public_key = signing.public_key_from_seed(seed)
assert public_key.hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
assert signing.verify(public_key, digest, signing.sign(seed, digest))
identity = bytes([1]) + bytes(31)
assert not signing.verify(identity, digest, identity + bytes(32))
assert not signing.is_usable_public_key(identity)
assert signing.is_usable_public_key(public_key)
print("openssl")
"""


def test_signing_falls_back_to_openssl_when_pynacl_does_not_import() -> None:
    library_root = str(Path(ves.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": library_root}
    done = subprocess.run(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", PROBE_WITHOUT_PYNACL], env=env, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "openssl"
