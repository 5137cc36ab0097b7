"""Reads of schemas by id name the caller's tenant (STYLE rule 7)."""

from __future__ import annotations

import uuid

import pytest

from schemas.selectors import schema_get_for_tenant, schema_get_for_tenant_or_404
from sequencer_project.db.tenant_scope import EVERY_TENANT, TenantScope
from tests.conftest import Persona
from tests.schemas.helpers import register


def test_a_schema_is_found_for_its_tenant_and_the_operator_and_not_for_another_tenant(
    owner: Persona, outsider: Persona
) -> None:
    schema_id = uuid.UUID(register(owner.client, owner.tenant_id).json()["id"])

    def get(tenant_id: TenantScope) -> uuid.UUID | None:
        found = schema_get_for_tenant(tenant_id=tenant_id, schema_id=schema_id)
        return None if found is None else found.id

    assert get(owner.tenant_id) == schema_id
    assert get(EVERY_TENANT) == schema_id
    assert get(outsider.tenant_id) is None


def test_a_tenant_id_of_none_is_refused_not_read_as_every_tenant(owner: Persona) -> None:
    schema_id = uuid.UUID(register(owner.client, owner.tenant_id).json()["id"])

    with pytest.raises(TypeError, match="EVERY_TENANT"):
        schema_get_for_tenant(tenant_id=None, schema_id=schema_id)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="EVERY_TENANT"):
        schema_get_for_tenant_or_404(tenant_id=None, schema_id=schema_id)  # type: ignore[arg-type]
