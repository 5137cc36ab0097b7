"""Edwards25519 point checks in pure Python: what libsodium decides about a public key, without it.

``ves.ed25519_openssl`` verifies on OpenSSL, which takes any 32 bytes that decode to a curve point
as a public key. libsodium (ADR 0026) first refuses what no honest signer produces, and the
OpenSSL backend must refuse exactly the same, so these are libsodium's checks, restated:

* ``is_canonical_encoding``: ``y < p`` (libsodium's ``ge25519_is_canonical``; the sign bit is not
  looked at);
* ``encodes_small_order_point``: the 255-bit ``y``, reduced mod ``p``, is that of one of the 8
  points of small order, with either sign bit (libsodium's blocklist, ``ge25519_has_small_order``,
  whose 7 entries are exactly these ``y`` values plus ``p`` and ``p + 1``);
* ``is_prime_order_point_encoding``: all of libsodium's ``crypto_core_ed25519_is_valid_point``,
  down to ``[L]P`` being the identity (the check as libsodium 1.0.20-stable has had it since its
  fix of CVE-2025-69277, which PyNaCl 1.6.2 ships: ``X = 0`` *and* ``Y = Z``).

Points are RFC 8032 §5.1 extended homogeneous coordinates ``(X, Y, Z, T)``, with ``x = X/Z``,
``y = Y/Z`` and ``x·y = T/Z``, added with the complete formula of §5.1.4. Everything is variable
time, which is fine: only public keys and signatures pass here, and ``[L]P`` runs once per key
registration (a few milliseconds).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "FIELD_PRIME",
    "GROUP_ORDER",
    "IDENTITY",
    "Point",
    "add",
    "decode",
    "encode",
    "encodes_small_order_point",
    "is_canonical_encoding",
    "is_canonical_scalar",
    "is_identity",
    "is_prime_order_point_encoding",
    "multiply",
]

FIELD_PRIME: Final = 2**255 - 19
"""``p``: coordinates are integers mod ``p``."""

GROUP_ORDER: Final = 2**252 + 27742317777372353535851937790883648493
"""``L``: the order of the base point and of the prime-order subgroup keys live in."""

_D: Final = -121665 * pow(121666, -1, FIELD_PRIME) % FIELD_PRIME
_SQRT_MINUS_ONE: Final = pow(2, (FIELD_PRIME - 1) // 4, FIELD_PRIME)
_Y_MASK: Final = (1 << 255) - 1

Point = tuple[int, int, int, int]
"""Extended homogeneous coordinates ``(X, Y, Z, T)`` (RFC 8032 §5.1.4)."""

IDENTITY: Final[Point] = (0, 1, 1, 0)

# The y of an order-8 point; the others of small order have y = 1 (identity), p - 1 (order 2),
# 0 (order 4) and p - this (the order-8 points plus the order-2 point).
_ORDER_8_Y: Final = 2707385501144840649318225287225658788936804267575313519463743609750303402022
_SMALL_ORDER_Y: Final = frozenset({0, 1, FIELD_PRIME - 1, _ORDER_8_Y, FIELD_PRIME - _ORDER_8_Y})


def is_canonical_encoding(encoding: bytes) -> bool:
    """Whether the ``y`` of a 32-byte point encoding is below ``p``, as an encoder writes it."""
    return (int.from_bytes(encoding, "little") & _Y_MASK) < FIELD_PRIME


def encodes_small_order_point(encoding: bytes) -> bool:
    """Whether a 32-byte encoding, canonical or not and whatever its sign bit, names a point of
    small order: such a public key verifies forgeries, and such an ``R`` is never an honest one."""
    return (int.from_bytes(encoding, "little") & _Y_MASK) % FIELD_PRIME in _SMALL_ORDER_Y


def is_canonical_scalar(scalar: bytes) -> bool:
    """Whether a 32-byte little-endian ``S`` is below ``L`` (RFC 8032 §5.1.7 refuses the others)."""
    return int.from_bytes(scalar, "little") < GROUP_ORDER


def decode(encoding: bytes) -> Point | None:
    """The point a canonical 32-byte encoding names, or ``None`` (RFC 8032 §5.1.3): ``y ≥ p``,
    no ``x`` on the curve for this ``y``, or ``x = 0`` with the sign bit set."""
    if len(encoding) != 32:
        return None
    number = int.from_bytes(encoding, "little")
    y, x_is_odd = number & _Y_MASK, number >> 255
    if y >= FIELD_PRIME:
        return None
    u, v = (y * y - 1) % FIELD_PRIME, (_D * y * y + 1) % FIELD_PRIME
    x = u * pow(v, 3, FIELD_PRIME) * pow(u * pow(v, 7, FIELD_PRIME), (FIELD_PRIME - 5) // 8, FIELD_PRIME)
    x %= FIELD_PRIME
    if (v * x * x - u) % FIELD_PRIME != 0:
        x = x * _SQRT_MINUS_ONE % FIELD_PRIME
        if (v * x * x - u) % FIELD_PRIME != 0:
            return None
    if x == 0 and x_is_odd:
        return None
    if x & 1 != x_is_odd:
        x = FIELD_PRIME - x
    return (x, y, 1, x * y % FIELD_PRIME)


def encode(point: Point) -> bytes:
    """The canonical 32-byte encoding of a point (RFC 8032 §5.1.2)."""
    x_, y_, z, _ = point
    z_inverse = pow(z, -1, FIELD_PRIME)
    x, y = x_ * z_inverse % FIELD_PRIME, y_ * z_inverse % FIELD_PRIME
    return (y | (x & 1) << 255).to_bytes(32, "little")


def add(p: Point, q: Point) -> Point:
    """``p + q``, by the complete addition of RFC 8032 §5.1.4 (also right for ``p == q``)."""
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % FIELD_PRIME
    b = (y1 + x1) * (y2 + x2) % FIELD_PRIME
    c = 2 * _D * t1 * t2 % FIELD_PRIME
    d = 2 * z1 * z2 % FIELD_PRIME
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % FIELD_PRIME, g * h % FIELD_PRIME, f * g % FIELD_PRIME, e * h % FIELD_PRIME)


def _double(p: Point) -> Point:
    """``p + p``, by the doubling of RFC 8032 §5.1.4 (cheaper than ``add(p, p)``)."""
    x1, y1, z1, _ = p
    a, b, c = x1 * x1 % FIELD_PRIME, y1 * y1 % FIELD_PRIME, 2 * z1 * z1 % FIELD_PRIME
    h = a + b
    e, g = h - (x1 + y1) * (x1 + y1), a - b
    f = c + g
    return (e * f % FIELD_PRIME, g * h % FIELD_PRIME, f * g % FIELD_PRIME, e * h % FIELD_PRIME)


def multiply(scalar: int, point: Point) -> Point:
    """``[scalar] point`` for a non-negative ``scalar``, by double-and-add from the top bit."""
    result = IDENTITY
    for bit in bin(scalar)[2:]:
        result = _double(result)
        if bit == "1":
            result = add(result, point)
    return result


def is_identity(point: Point) -> bool:
    """Whether ``point`` is the neutral element ``(0, 1)``."""
    x, y, z, _ = point
    return x % FIELD_PRIME == 0 and (y - z) % FIELD_PRIME == 0


def is_prime_order_point_encoding(encoding: bytes) -> bool:
    """Whether ``encoding`` is the canonical encoding of a point of the prime-order subgroup other
    than the identity, as every public key derived from a seed is: libsodium's
    ``crypto_core_ed25519_is_valid_point``, check for check (canonical, not small order, on the
    curve, ``[L]P`` the identity). A key with a small-order component ``P + T`` fails the last."""
    if len(encoding) != 32 or not is_canonical_encoding(encoding) or encodes_small_order_point(encoding):
        return False
    point = decode(encoding)
    return point is not None and is_identity(multiply(GROUP_ORDER, point))
