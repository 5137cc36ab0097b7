"""Bounds of x402 requests: enforced by ``payments.api.views`` and ``payments.intent_requests``
and published by ``payments.api.openapi``, which all read them from here."""

from __future__ import annotations

MAX_BATCH_SIZE = 1000
# A payer or payee address as hex text, 0x included (any even-length hex up to 32 bytes); longer is 413.
MAX_ADDRESS_LENGTH = 66
