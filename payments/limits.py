"""Bounds of x402 requests: enforced by ``payments.api.views`` and ``payments.intent_requests``
and published by ``payments.api.openapi``, which all read them from here."""

from __future__ import annotations

MAX_BATCH_SIZE = 1000
# An intent's optional texts, in bytes of UTF-8 (longer is 413).
INTENT_TEXT_MAX_BYTES = {
    "idempotency_key": 255,
    "resource_uri": 4096,
    "description": 8192,
    "merchant_id": 1024,
    "order_id": 1024,
}
# An intent's optional metadata (any JSON), in bytes as compact JSON (larger is 413): it is stored
# with the intent and answered in every list of the stream.
MAX_METADATA_BYTES = 16_384
# The reference's cap on valid_until - now. Nonce reservations are kept twice as long
# (payments.tasks.nonces_prune_task), so no nonce is forgotten while an intent using it is valid.
MAX_VALIDITY_SECONDS = 86_400
# A payer or payee address as hex text, 0x included (40 hex digits, or 0x and 64: payments/addresses.py); longer is 413.
MAX_ADDRESS_LENGTH = 66
