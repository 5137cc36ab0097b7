"""Parsing and stateless checks of ``POST /api/v1/x402/payments`` (REFERENCE.md §5.2 steps 1-6).

Everything here runs before any transaction: field checks, the 24 h validity window, hex
parsing, and the signing-hash recomputation. Signature verification needs the agent's keys and
lives in :mod:`payments.services.intents`.

Members are read with :mod:`sequencer_project.api.fields`: a missing member or a wrong JSON type
is 422 ``invalid_request`` (the reference's extractor), a refused value 400
``invalid_payment_field``. Texts limited in bytes (413) and addresses have small readers on top.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from payments import errors
from payments.addresses import ACCOUNT_BYTES, KEY_BYTES, address_key
from payments.hashing import ASSETS, NETWORKS, TOKEN_ADDRESSES, canonical_asset, signing_hash
from payments.limits import INTENT_TEXT_MAX_BYTES, MAX_ADDRESS_LENGTH, MAX_METADATA_BYTES, MAX_VALIDITY_SECONDS
from sequencer_project.api.errors import PayloadTooLargeError
from sequencer_project.api.fields import Fields, field_value_error, hex_bytes, invalid_request, json_object


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    tenant_id: uuid.UUID
    store_id: uuid.UUID
    source_agent_id: uuid.UUID
    agent_key_id: int
    payer_address: str
    payee_address: str
    #: The payer's account (:func:`payments.addresses.address_key`): its nonces are reserved under it.
    payer_key: str
    amount: int
    asset: str
    network: str
    chain_id: int
    token_address: str | None
    valid_until: int
    nonce: int
    idempotency_key: str | None
    resource_uri: str | None
    description: str | None
    order_id: str | None
    merchant_id: str | None
    metadata: Any
    signing_hash: bytes
    payer_signature: bytes
    payer_public_key: bytes | None
    request_hash: bytes


_field_error = field_value_error(errors.InvalidPaymentFieldError)
_MAX_ASSET = 64  # longer than every asset name and alias


def _uuid(fields: Fields, name: str) -> uuid.UUID:
    value = fields.uuid(name)
    if value.int == 0:
        raise _field_error(name, "must not be the nil UUID.")
    return value


def _agent_id(fields: Fields) -> uuid.UUID:
    """``agent_id`` (the reference's name); ``source_agent_id`` (ours before) is an alias.

    Neither given is 400 ``invalid_payment_field``, as ``tests/contract`` pins it (a missing
    member is otherwise the collector's 422).
    """
    given = [name for name in ("agent_id", "source_agent_id") if fields.raw(name) is not None]
    if not given:
        raise _field_error("agent_id", "is required.")
    values = [_uuid(fields, name) for name in given]
    if len(set(values)) > 1:
        raise _field_error("agent_id", "and 'source_agent_id' name different agents.")
    return values[0]


def _text(fields: Fields, name: str) -> str | None:
    """An optional text of at most ``INTENT_TEXT_MAX_BYTES[name]`` UTF-8 bytes (413 above; a
    limit in bytes, which ``Fields.text`` does not count), not blank (400), as the reference."""
    value = fields.raw(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_request(name, "must be a string.")
    if len(value.encode()) > INTENT_TEXT_MAX_BYTES[name]:
        raise PayloadTooLargeError(f"'{name}' is longer than {INTENT_TEXT_MAX_BYTES[name]} bytes.", field=name)
    if not value.strip():
        raise _field_error(name, "must not be empty (leave it out instead).")
    return value


def _address(fields: Fields, name: str) -> str:
    """A required address in one of the account forms of :mod:`payments.addresses` (20 bytes of
    hex after an optional ``0x``, or ``0x`` and 32 bytes), at most ``MAX_ADDRESS_LENGTH``
    characters (413 above); any other length or a 32-byte address without ``0x`` is 400, as the
    signing hash joins payer and payee unprefixed. Returned as submitted (it is hashed so; its
    account is :func:`payments.addresses.address_key`)."""
    value = fields.raw(name)
    if value is None:
        raise invalid_request(name, "is required.")
    if isinstance(value, str) and len(value) > MAX_ADDRESS_LENGTH:
        raise PayloadTooLargeError(f"'{name}' is longer than {MAX_ADDRESS_LENGTH} characters.", field=name)
    raw = hex_bytes(value, name, _field_error)
    prefixed = str(value)[:2] in ("0x", "0X")
    if len(raw) != ACCOUNT_BYTES and not (len(raw) == KEY_BYTES and prefixed):
        raise _field_error(
            name,
            f"must be {ACCOUNT_BYTES} bytes of hex (40 digits) after an optional 0x, or 0x and {KEY_BYTES} bytes"
            f" (64 digits), not {len(raw)} bytes{'' if prefixed else ' without 0x'}.",
        )
    return str(value)


def payer_address_parse(value: str) -> str:
    """``value`` read as an intent's ``payer_address`` is (one of the account forms; 400 or 413
    otherwise), for an operator naming an account (``manage.py payer_account``)."""
    return _address(Fields({"payer_address": value}, _field_error), "payer_address")


def parse_payment_request(body: object, *, now: int | None = None) -> PaymentRequest:
    """Validate ``body`` (the request's :class:`Fields`, or a parsed body) and recompute its
    signing hash; raises a 4xx ``SequencerError``."""
    fields = (body if isinstance(body, Fields) else Fields(json_object(body))).with_error(_field_error)
    now = int(time.time()) if now is None else now
    tenant_id, store_id = _uuid(fields, "tenant_id"), _uuid(fields, "store_id")
    agent_id = _agent_id(fields)
    key_id = fields.integer("agent_key_id", minimum=1, default=1)
    payer, payee = _address(fields, "payer_address"), _address(fields, "payee_address")
    payer_key = address_key(payer)
    if payer_key == address_key(payee):
        raise _field_error("payee_address", "must differ from payer_address.")
    amount = fields.integer("amount", minimum=1)
    asset = canonical_asset(fields.text("asset", max_length=_MAX_ASSET))
    if asset is None:
        raise _field_error("asset", f"must be one of {', '.join(ASSETS)}.")
    network = fields.choice("network", NETWORKS)
    valid_until = fields.integer("valid_until")
    nonce = fields.integer("nonce")
    texts = {name: _text(fields, name) for name in INTENT_TEXT_MAX_BYTES}
    if valid_until < now or valid_until > now + MAX_VALIDITY_SECONDS:
        raise errors.PaymentValidityError(
            f"valid_until must be between now ({now}) and now + {MAX_VALIDITY_SECONDS} s.", field="valid_until"
        )
    claimed = fields.hex("signing_hash", lengths=(32,))
    signature = fields.hex("payer_signature", lengths=(64, 65))[:64]
    public_key = fields.optional_hex("payer_public_key", lengths=(32,))
    digest = signing_hash(
        payer=payer, payee=payee, amount=amount, asset=asset, network=network, valid_until=valid_until, nonce=nonce
    )
    if digest != claimed:
        raise errors.SigningHashMismatchError(f"Recomputed signing hash is 0x{digest.hex()}.")
    metadata = fields.raw("metadata")
    if metadata is not None and len(orjson.dumps(metadata)) > MAX_METADATA_BYTES:
        raise PayloadTooLargeError(f"'metadata' is larger than {MAX_METADATA_BYTES} bytes as JSON.", field="metadata")
    normalised = {
        "agent": str(agent_id),
        "key": key_id,
        "hash": digest.hex(),
        "sig": signature.hex(),
        "pub": public_key.hex() if public_key else None,
        **texts,
        "metadata": metadata,
    }
    return PaymentRequest(
        tenant_id=tenant_id,
        store_id=store_id,
        source_agent_id=agent_id,
        agent_key_id=key_id,
        payer_address=payer,
        payee_address=payee,
        payer_key=payer_key,
        amount=amount,
        asset=asset,
        network=network,
        chain_id=NETWORKS[network],
        token_address=TOKEN_ADDRESSES.get((asset, network)),
        valid_until=valid_until,
        nonce=nonce,
        idempotency_key=texts["idempotency_key"],
        resource_uri=texts["resource_uri"],
        description=texts["description"],
        order_id=texts["order_id"],
        merchant_id=texts["merchant_id"],
        metadata=metadata,
        signing_hash=digest,
        payer_signature=signature,
        payer_public_key=public_key,
        request_hash=hashlib.sha256(orjson.dumps(normalised, option=orjson.OPT_SORT_KEYS)).digest(),
    )
