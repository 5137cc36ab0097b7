"""create_tenant and create_api_key print what an operator needs, once."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from tenants.credentials import api_key_hash
from tenants.models import ApiKey, Tenant

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip()


def test_create_tenant_prints_its_id() -> None:
    tenant_id = _run("create_tenant", "--name", "Acme")

    assert Tenant.objects.get(id=uuid.UUID(tenant_id)).name == "Acme"


def test_create_tenant_with_a_chosen_id_is_idempotent_only_when_asked() -> None:
    chosen = str(uuid.uuid4())
    assert _run("create_tenant", "--name", "A", "--id", chosen) == chosen
    assert _run("create_tenant", "--name", "A", "--id", chosen, "--if-missing") == chosen
    with pytest.raises(CommandError):
        _run("create_tenant", "--name", "A", "--id", chosen)


def test_create_api_key_prints_a_working_key_shown_once() -> None:
    tenant_id = _run("create_tenant", "--name", "Acme")
    store = str(uuid.uuid4())

    key = _run("create_api_key", "--tenant", tenant_id, "--permissions", "read", "--store", store, "--rate-limit", "60")

    stored = ApiKey.objects.get(key_hash=api_key_hash(key))
    assert (stored.can_read, stored.can_write, stored.can_admin) == (True, False, False)
    assert [str(s) for s in stored.store_ids] == [store]
    assert stored.rate_limit == 60
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"ApiKey {key}")
    assert client.get(f"/api/v1/head?tenant_id={tenant_id}&store_id={store}").status_code == 200


def test_create_api_key_sets_an_expiry() -> None:
    tenant_id = _run("create_tenant", "--name", "Acme")

    key = _run("create_api_key", "--tenant", tenant_id, "--expires-at", "2999-01-01T00:00:00Z")

    assert ApiKey.objects.get(key_hash=api_key_hash(key)).expires_at == datetime(2999, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "args",
    [
        ("--tenant", "00000000-0000-0000-0000-00000000abcd"),
        ("--permissions", "read,root"),
        ("--rate-limit", "0"),
        ("--expires-at", "2001-01-01T00:00:00Z"),
        ("--expires-at", "tomorrow"),
        ("--name", "n" * 1155),  # longer than the column (tenants.limits.API_KEY_NAME_MAX)
    ],
)
def test_create_api_key_refuses_bad_input(args: tuple[str, ...]) -> None:
    tenant_id = _run("create_tenant", "--name", "Acme")
    base = {"--tenant": tenant_id, "--permissions": "read"}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    argv = [item for pair in base.items() for item in pair]

    with pytest.raises(CommandError):
        _run("create_api_key", *argv)


def test_create_demo_staff_prints_a_working_password_and_resets_it_on_rerun() -> None:
    from django.contrib.auth import authenticate

    from audit.models import AuditLogEntry

    first = _run("create_demo_staff", "--username", "demo-ops")
    second = _run("create_demo_staff", "--username", "demo-ops")

    assert first != second
    assert authenticate(username="demo-ops", password=first) is None
    user = authenticate(username="demo-ops", password=second)
    assert user is not None
    assert user.is_staff
    assert list(AuditLogEntry.objects.filter(target_id="demo-ops").order_by("id").values_list("action", flat=True)) == [
        "staff.create",
        "staff.reset_password",
    ]
