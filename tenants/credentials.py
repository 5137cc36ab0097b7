"""API key format and hashing (no Django, no I/O).

A key is ``ss_`` + the first 8 characters of the tenant UUID + base64url (no padding) of
24 random bytes: 43 characters, as the reference mints them. Only the lowercase SHA-256
hex of the whole key is stored; ``display_prefix`` keeps enough to recognise a key in lists.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid

API_KEY_PREFIX = "ss_"
DISPLAY_PREFIX_LENGTH = 12


def api_key_generate(tenant_id: uuid.UUID) -> str:
    random_part = base64.urlsafe_b64encode(secrets.token_bytes(24)).rstrip(b"=").decode()
    return f"{API_KEY_PREFIX}{str(tenant_id)[:8]}{random_part}"


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LENGTH]
