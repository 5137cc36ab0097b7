"""The operator admin renders tenancy pages (server-side binding and composite keys included)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from tenants.models import ApiKey
from tests.conftest import Persona

pytestmark = pytest.mark.django_db


def test_tenants_and_keys_are_listed_without_the_secret(staff_client: Client, owner: Persona) -> None:
    tenants = staff_client.get("/admin/tenants/tenant/")
    keys = staff_client.get("/admin/tenants/apikey/")

    assert tenants.status_code == 200
    assert owner.tenant.name in tenants.content.decode()
    assert keys.status_code == 200
    assert owner.key[:12] in keys.content.decode()
    assert owner.key not in keys.content.decode()


def test_the_key_form_replaces_the_model_form(staff_client: Client) -> None:
    page = staff_client.get("/admin/tenants/apikey/add/").content.decode()

    assert 'id="apikey-create"' in page
    assert "key_hash" not in page  # keys are minted by the service, never typed in (docs/auth.md)


def test_the_key_form_sets_and_shows_an_expiry(staff_client: Client, owner: Persona) -> None:
    form = {"tenant": str(owner.tenant_id), "name": "expiring", "can_read": "on", "expires_at": "2999-01-01 00:00"}

    created = staff_client.post("/admin/tenants/apikey/add/", form)
    in_the_past = staff_client.post("/admin/tenants/apikey/add/", {**form, "expires_at": "2001-01-01 00:00"})

    assert created.status_code == 200
    assert "expires 2999-01-01T00:00:00+00:00" in created.content.decode()
    stored = ApiKey.objects.get(name="expiring")
    assert stored.expires_at == datetime(2999, 1, 1, tzinfo=UTC)
    assert "Must be in the future." in in_the_past.content.decode()
    assert ApiKey.objects.filter(name="expiring").count() == 1
    change = staff_client.get(f"/admin/tenants/apikey/{stored.key_hash}/change/").content.decode()
    assert "Expires at" in change


def test_creating_and_renaming_a_tenant_goes_through_the_audited_services(staff_client: Client) -> None:
    from audit.models import AuditLogEntry
    from tenants.models import Tenant

    created = staff_client.post("/admin/tenants/tenant/add/", {"name": "Acme", "is_active": "on"})
    tenant = Tenant.objects.get(name="Acme")
    renamed = staff_client.post(f"/admin/tenants/tenant/{tenant.id}/change/", {"name": "Acme 2", "is_active": "on"})

    assert created.status_code == 302
    assert renamed.status_code == 302
    assert Tenant.objects.get(id=tenant.id).name == "Acme 2"
    assert list(
        AuditLogEntry.objects.filter(tenant_id=tenant.id).order_by("id").values_list("action", "actor", "detail")
    ) == [
        ("tenant.create", "admin:operator", {"name": "Acme", "is_active": True}),
        ("tenant.update", "admin:operator", {"changed": ["name"]}),
    ]
