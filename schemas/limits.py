"""Bounds of the schema registry's request fields: enforced by ``schemas.api.views`` and
published by ``schemas.api.openapi``, which both read them from here."""

from __future__ import annotations

MAX_EVENT_TYPE = 256
MAX_DESCRIPTION = 2048
MAX_VERSION = 2**31 - 1  # schema versions are PostgreSQL integers
