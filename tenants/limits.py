"""Bounds of an agent registration or API key request: enforced by ``tenants.api.agent_views``
and published by ``tenants.api.openapi``, which both read them from here."""

from __future__ import annotations

NAME_MAX = 128
DESCRIPTION_MAX = 1024
STORE_IDS_MAX = 50
RATE_LIMIT_MIN = 1
RATE_LIMIT_MAX = 10_000
