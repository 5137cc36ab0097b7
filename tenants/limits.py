"""Bounds of an agent registration or API key request: enforced by ``tenants.api.agent_views``
(and the ``api_keys`` column), published by ``tenants.api.openapi``, which all read them from here."""

from __future__ import annotations

NAME_MAX = 128
DESCRIPTION_MAX = 1024
STORE_IDS_MAX = 50
RATE_LIMIT_MIN = 1
RATE_LIMIT_MAX = 10_000
# An API key's label (``api_keys.name``): a registration labels its key "<name>: <description>",
# so the column holds both whole.
API_KEY_NAME_MAX = NAME_MAX + len(": ") + DESCRIPTION_MAX
