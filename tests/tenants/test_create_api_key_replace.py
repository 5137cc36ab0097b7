"""``create_api_key --replace``: the tenant's active keys of the same name are revoked first
(``make run`` makes its demo key so, so a key printed by an earlier start stops working)."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from audit.models import AuditLogEntry
from tenants.credentials import api_key_hash
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def _key(tenant: Tenant, name: str, *extra: str) -> str:
    out = io.StringIO()
    call_command(
        "create_api_key", "--tenant", str(tenant.id), "--name", name, "--permissions", "read", *extra, stdout=out
    )
    return out.getvalue().strip()


def _status(key: str, tenant: Tenant) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {key}")
    return client.get(f"/api/v1/head?tenant_id={tenant.id}&store_id={uuid.uuid4()}").status_code


def test_replace_revokes_the_keys_of_that_name_only_and_audits_it() -> None:
    tenant = Tenant.objects.create(name="demo")
    first, second = _key(tenant, "demo (make run)"), _key(tenant, "demo (make run)")
    other = _key(tenant, "ci")

    third = _key(tenant, "demo (make run)", "--replace")

    assert [_status(k, tenant) for k in (first, second, other, third)] == [401, 401, 200, 200]
    revocations = AuditLogEntry.objects.filter(tenant_id=tenant.id, action="api_key.revoke")
    assert [row.actor for row in revocations] == ["cli:create_api_key"] * 2
    assert {row.detail["credential"] for row in revocations} == {api_key_hash(k)[:16] for k in (first, second)}


def test_without_replace_earlier_keys_of_the_name_keep_working() -> None:
    tenant = Tenant.objects.create(name="demo")
    first = _key(tenant, "demo (make run)")
    second = _key(tenant, "demo (make run)")

    assert [_status(k, tenant) for k in (first, second)] == [200, 200]


def test_replace_needs_a_name_and_a_refused_creation_revokes_nothing() -> None:
    tenant = Tenant.objects.create(name="demo")
    unnamed, named = _key(tenant, ""), _key(tenant, "demo (make run)")

    with pytest.raises(CommandError, match="--replace needs --name"):
        _key(tenant, "", "--replace")
    with pytest.raises(CommandError):  # the service refuses the rate limit: no new key, none revoked
        _key(tenant, "demo (make run)", "--replace", "--rate-limit", "0")

    assert [_status(k, tenant) for k in (unnamed, named)] == [200, 200]
