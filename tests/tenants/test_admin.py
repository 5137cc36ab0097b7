"""The operator admin renders tenancy pages (server-side binding and composite keys included)."""

from __future__ import annotations

import pytest
from django.test import Client

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
    assert "key_hash" not in page  # keys are minted by the service, never typed in (issue 6)
