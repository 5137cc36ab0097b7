"""The operator admin is read-mostly: every page of the project's models adds, changes and deletes
only through an audited service (docs/projections.md "Operator admin"), never by a model form.

An intent edited or deleted in a form would change a ledger the chain already settled; an API
key renamed in one would skip the audit log and the principal caches.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client, RequestFactory

from payments.models import PaymentBatch, PaymentIntent, SettlementAttempt
from tenants.models import ApiKey
from tests.conftest import Persona

pytestmark = pytest.mark.django_db

PROJECT_APPS = {"tenants", "events", "commitments", "payments", "schemas", "audit", "streams"}


def _overrides(model_admin: admin.ModelAdmin[Any], method: str) -> bool:
    return getattr(type(model_admin), method) is not getattr(admin.ModelAdmin, method)


def _project_admins() -> list[admin.ModelAdmin[Any]]:
    found = [a for model, a in admin.site._registry.items() if model._meta.app_label in PROJECT_APPS]
    assert len(found) >= 9  # every page below is checked, not a subset that happens to pass
    return found


def test_no_project_page_deletes_and_writes_go_through_services() -> None:
    request = RequestFactory().get("/admin/")
    request.user = User(is_active=True, is_staff=True, is_superuser=True)
    for model_admin in _project_admins():
        name = type(model_admin).__name__
        assert not model_admin.has_delete_permission(request), f"{name} deletes rows"
        if model_admin.has_add_permission(request):
            assert _overrides(model_admin, "add_view") or _overrides(model_admin, "save_model"), (
                f"{name} adds rows with a model form"
            )
        if model_admin.has_change_permission(request) and not _overrides(model_admin, "save_model"):
            fields = {f.name for f in model_admin.model._meta.concrete_fields}
            editable = fields - set(model_admin.get_readonly_fields(request))
            assert not editable, f"{name} edits {sorted(editable)} with a model form"


@pytest.mark.parametrize("model", [PaymentIntent, PaymentBatch, SettlementAttempt])
def test_payment_pages_refuse_add_and_delete(staff_client: Client, model: type[Any]) -> None:
    opts = model._meta
    assert staff_client.get(f"/admin/{opts.app_label}/{opts.model_name}/add/").status_code == 403
    listing = staff_client.get(f"/admin/{opts.app_label}/{opts.model_name}/")
    assert listing.status_code == 200
    assert b"delete_selected" not in listing.content


def test_an_api_key_change_page_has_no_editable_field(staff_client: Client, owner: Persona) -> None:
    key = ApiKey.objects.filter(tenant=owner.tenant).first()
    assert key is not None
    page = staff_client.get(f"/admin/tenants/apikey/{key.hash_prefix}/change/")

    assert page.status_code == 200
    assert b'name="name"' not in page.content
    assert b'name="rate_limit"' not in page.content
