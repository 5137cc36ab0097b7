"""One account, one key: the spelling of an address under which its nonces are reserved.

An address is hex in one of two account forms (``payments.intent_requests`` checks it):

* an EVM account, 20 bytes: 40 hex digits after an optional ``0x``/``0X``;
* a 32-byte address (the reference's own client pays from its Ed25519 public key): ``0x`` or
  ``0X`` and 64 hex digits, the prefix required.

The x402 signing hash joins payer and payee with no length prefix (``ves/x402.py``, the
reference's format, which must not change), so an address of any other length would let one
signature read as several (payer, payee) splits, each a separate charge. With these forms the
split is unique: an unprefixed payee is exactly 40 digits, a prefixed one starts at the last
``x``, and a bare 64-digit address, which with a bare 40-digit one could trade 24 digits across
the join, is refused (docs/payments.md).

Its case and its prefix carry nothing: ``0xABAB…``, ``0xabab…`` and ``abab…`` are one account.
Nonces are reserved per ``(tenant, address_key(payer))`` and payer = payee is compared by key
(ADR 0006), so no spelling opens a second nonce space. What the client signed is untouched: the
signing hash and the batch leaf hash the address exactly as submitted, and the intent stores
and answers it so. A 20-byte account and a 32-byte address are different payers even when one
is the other left-padded with zero bytes: a padding rule would guess.
"""

from __future__ import annotations

from django.db.models import CharField, Func

#: An EVM account's length in bytes (40 hex digits; ``0x`` optional).
ACCOUNT_BYTES = 20
#: A 32-byte address's length (64 hex digits after a required ``0x``).
KEY_BYTES = 32


def address_key(address: str) -> str:
    """``address`` as ``0x`` + lower-case hex digits; ``address`` is already validated hex. Any
    other validated hex keyed the same way (a settlement's transaction hash) uses it too."""
    digits = address[2:] if address[:2] in ("0x", "0X") else address
    return "0x" + digits.lower()


class AccountKey(Func):
    """:func:`address_key` of a text column, in SQL: what the list's address filters compare and
    the expression indexes ``x402_intents_payer_account``/``x402_intents_payee_account`` hold
    (migration 0010). For the validated (ASCII hex) addresses an intent stores it equals
    :func:`address_key`; ``hold_payer_accounts_from_intents.sql`` writes the same expression.

    The literals are in the template, not parameters, so the query's expression is the index's
    text whatever the binding (a parameter would make it another expression to the planner).
    """

    template = "('0x' || lower(regexp_replace(%(expressions)s, '^0[xX]', '')))"
    output_field = CharField()
