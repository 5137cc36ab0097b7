"""One account, one key: the spelling of an address under which its nonces are reserved.

An address is hex (``payments.intent_requests`` checks it: an even number of hex digits, at
most 32 bytes, after an optional ``0x``/``0X``), so its case and its prefix carry nothing:
``0xABAB…``, ``0xabab…`` and ``abab…`` are one account. Nonces are reserved per
``(tenant, store, address_key(payer))`` and payer = payee is compared by key (ADR 0006), so no
spelling opens a second nonce space. What the client signed is untouched: the signing hash and
the batch leaf hash the address exactly as submitted, and the intent stores and answers it so.

Different byte strings stay different payers, even when one is the other left-padded with zero
bytes: an address is not read as an EVM account here (the reference's own client sends 32-byte
addresses, its public keys), so a padding rule would guess.
"""

from __future__ import annotations


def address_key(address: str) -> str:
    """``address`` as ``0x`` + lower-case hex digits; ``address`` is already validated hex."""
    digits = address[2:] if address[:2] in ("0x", "0X") else address
    return "0x" + digits.lower()
