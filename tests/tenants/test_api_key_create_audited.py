"""The ``api_key.create`` audit row holds every right the new key has (docs/auth.md, "Operator
admin and command line"): read, write, admin, its stores (``null``: every store), its agent, its
rate limit, its expiry, and for a key minted by a rate-limited key the budgets it shares.
Whoever mints it: the command line, the operator admin, the API, the service."""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditLogEntry
from tenants.credentials import api_key_hash
from tenants.models import ApiKey
from tenants.services import api_key_create
from tests.conftest import Persona, api_client
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db

STORES = sorted([uuid.uuid4(), uuid.uuid4()], key=str)
AGENT = uuid.uuid4()


def _created(key: str) -> tuple[str, dict[str, Any]]:
    """The actor and details of the ``api_key.create`` row of ``key`` (named by its display prefix)."""
    stored = ApiKey.objects.get(key_hash=api_key_hash(key))
    # named apart from every other key by its hash's first 16 hex digits (display prefixes repeat)
    row = AuditLogEntry.objects.get(action="api_key.create", detail__credential=stored.key_hash[:16])
    assert (row.target_type, row.target_id, row.tenant_id) == ("api_key", stored.display_prefix, stored.tenant_id)
    return row.actor, {name: value for name, value in row.detail.items() if name != "credential"}


def test_the_command_line_records_read_rate_limit_stores_agent_and_expiry(owner: Persona) -> None:
    out = io.StringIO()
    call_command(
        "create_api_key",
        *("--tenant", str(owner.tenant_id), "--name", "reporting", "--permissions", "read"),
        *("--rate-limit", "100", "--expires-at", "2999-01-01T00:00:00Z", "--agent", str(AGENT)),
        *("--store", str(STORES[1]), "--store", str(STORES[0])),
        stdout=out,
    )

    assert _created(out.getvalue().strip()) == (
        "cli:create_api_key",
        {
            "name": "reporting",
            "read": True,
            "write": False,
            "admin": False,
            "stores": [str(store) for store in STORES],
            "agent": str(AGENT),
            "rate_limit": 100,
            "expires_at": "2999-01-01T00:00:00+00:00",
            "shared_rate_limits": [],
        },
    )


def test_an_unscoped_unlimited_key_records_every_store_no_agent_and_no_limits(owner: Persona) -> None:
    issued = api_key_create(tenant=owner.tenant, name="ops", can_read=False, can_write=True, actor="admin:ops")

    assert _created(issued.key) == (
        "admin:ops",
        {
            "name": "ops",
            "read": False,
            "write": True,
            "admin": False,
            "stores": None,
            "agent": None,
            "rate_limit": None,
            "expires_at": None,
            "shared_rate_limits": [],
        },
    )


def test_a_key_minted_through_the_api_records_what_it_inherited_and_shares(owner: Persona) -> None:
    """A rate-limited, store-scoped admin mints a key: the key inherits its stores, limit and
    expiry (ADR 0015), counts against its budget, and the row says all of it."""
    minter_key = issue_key(
        owner.tenant, can_write=True, can_admin=True, store_ids=[owner.store_id], rate_limit=40, agent_id=AGENT
    )
    minter: APIClient = api_client(minter_key)

    minted = minter.post(f"/api/v1/agents/{AGENT}/api-keys", data={"name": "child", "readOnly": True}, format="json")

    assert minted.status_code == 200, minted.content
    actor, detail = _created(minted.json()["apiKey"])
    credential = api_key_hash(minter_key)[:16]
    assert actor == f"api:api_key:{credential}"
    assert detail == {
        "name": "child",
        "read": True,
        "write": False,
        "admin": False,
        "stores": [str(owner.store_id)],
        "agent": str(AGENT),
        "rate_limit": 40,
        "expires_at": None,
        "shared_rate_limits": [[credential, 40]],
    }


def test_the_admin_form_records_the_scope_it_was_given(staff_client: Client, owner: Persona) -> None:
    form = {
        "tenant": str(owner.tenant_id),
        "name": "scoped",
        "can_read": "on",
        "can_write": "on",
        "rate_limit": "7",
        "store_ids": f"{STORES[0]}\n{STORES[1]}",
        "agent_id": str(AGENT),
    }

    created = staff_client.post("/admin/tenants/apikey/add/", form)

    assert created.status_code == 200, created.content
    stored = ApiKey.objects.get(name="scoped")
    # By the credential: two keys of one tenant share a display prefix once in 64 (the owner's did).
    row = AuditLogEntry.objects.get(action="api_key.create", detail__credential=stored.key_hash[:16])
    assert row.target_id == stored.display_prefix
    assert row.actor == "admin:operator"
    assert row.detail.pop("credential") == stored.key_hash[:16]
    assert row.detail == {
        "name": "scoped",
        "read": True,
        "write": True,
        "admin": False,
        "stores": [str(store) for store in STORES],
        "agent": str(AGENT),
        "rate_limit": 7,
        "expires_at": None,
        "shared_rate_limits": [],
    }
