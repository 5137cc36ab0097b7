"""Bounds of x402 batch requests: enforced by ``payments.api.views`` and published by
``payments.api.openapi``, which both read them from here."""

from __future__ import annotations

MAX_BATCH_SIZE = 1000
