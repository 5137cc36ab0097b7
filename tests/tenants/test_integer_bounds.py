"""An integer an operator or caller types is stored as typed, or refused: never wrapped.

Django sends a model integer as psycopg's ``Int4`` (``Int2`` for a smallint), and under
``server_side_binding`` (our settings) psycopg_binary's binary dumper keeps only its low 32 (16)
bits: a rate limit of 2**32 + 1 was stored as 1, 2**31 as -2**31 (then a 500 from the column's
CHECK). These tests run with the project's settings, so the wrap is live underneath them.
"""

from __future__ import annotations

import io
import uuid

import pytest
from django.contrib.messages import get_messages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditLogEntry
from sequencer_project.api.errors import InvalidFieldValueError
from tenants.credentials import api_key_hash
from tenants.models import AgentSigningKey, ApiKey, Tenant
from tenants.services import API_KEY_RATE_LIMIT_MAX, agent_key_register, api_key_create
from tests.conftest import Persona
from tests.tenants.factories import make_tenant
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db

WRAPPED = [99_999_999_999, 2**32 + 1, 2**31, 2**63, -1, 0]  # the first three wrapped to 1215752191, 1, -2**31
KEY = public_key_from_seed(b"\x31" * 32)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rate_limit=st.one_of(
        st.integers(),
        st.integers(min_value=-(2**65), max_value=2**65),
        st.sampled_from([1, API_KEY_RATE_LIMIT_MAX, API_KEY_RATE_LIMIT_MAX + 1, 2**32 + 1, 2**31]),
    )
)
def test_a_minted_rate_limit_is_stored_exactly_or_refused(owner: Persona, rate_limit: int) -> None:
    if not 1 <= rate_limit <= API_KEY_RATE_LIMIT_MAX:
        with pytest.raises(InvalidFieldValueError) as refused:
            api_key_create(tenant=owner.tenant, rate_limit=rate_limit, name="property", actor="test")
        message = f"must be an integer in 1..{API_KEY_RATE_LIMIT_MAX} (requests per minute)."
        assert refused.value.errors == {"rateLimit": [message]}
        return
    issued = api_key_create(tenant=owner.tenant, rate_limit=rate_limit, name="property", actor="test")
    assert ApiKey.objects.values_list("rate_limit", flat=True).get(key_hash=issued.api_key.key_hash) == rate_limit


def test_a_key_with_no_permission_is_refused_by_the_service(owner: Persona) -> None:
    with pytest.raises(InvalidFieldValueError, match="at least one of read, write, admin"):
        api_key_create(tenant=owner.tenant, can_read=False, can_write=False, can_admin=False, actor="test:none")

    assert not AuditLogEntry.objects.filter(actor="test:none").exists()


# --- the admin key form ------------------------------------------------------------------------


def _key_form(owner: Persona, **extra: str) -> dict[str, str]:
    return {"tenant": str(owner.tenant_id), "name": "bounded", "can_read": "on", **extra}


@pytest.mark.parametrize(
    "typed", [*map(str, WRAPPED), "٣", "+5", "1_000", "5.0", "\uff16\uff10"]
)  # the last: full-width 60
def test_the_admin_key_form_refuses_a_rate_limit_the_column_cannot_hold(
    staff_client: Client, owner: Persona, typed: str
) -> None:
    response = staff_client.post("/admin/tenants/apikey/add/", _key_form(owner, rate_limit=typed))

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not ApiKey.objects.filter(name="bounded").exists()
    assert not AuditLogEntry.objects.filter(actor="admin:operator").exists()


def test_the_admin_key_form_stores_the_largest_rate_limit_exactly(staff_client: Client, owner: Persona) -> None:
    response = staff_client.post("/admin/tenants/apikey/add/", _key_form(owner, rate_limit=str(API_KEY_RATE_LIMIT_MAX)))

    assert response.status_code == 200
    assert ApiKey.objects.get(name="bounded").rate_limit == API_KEY_RATE_LIMIT_MAX


def test_the_admin_key_form_refuses_a_key_with_no_permission(staff_client: Client, owner: Persona) -> None:
    response = staff_client.post("/admin/tenants/apikey/add/", {"tenant": str(owner.tenant_id), "name": "bounded"})

    assert response.status_code == 200
    assert "Tick at least one permission" in response.content.decode()
    assert not ApiKey.objects.filter(name="bounded").exists()


# --- create_api_key ----------------------------------------------------------------------------


def _create_api_key(tenant: Tenant, *args: str) -> str:
    out = io.StringIO()
    call_command("create_api_key", "--tenant", str(tenant.id), "--permissions", "read", *args, stdout=out)
    return out.getvalue().strip()


@pytest.mark.parametrize("typed", [*map(str, WRAPPED), "٣", "1_000", "99999999999999999999"])
def test_create_api_key_refuses_a_rate_limit_the_column_cannot_hold(typed: str) -> None:
    tenant = make_tenant()

    with pytest.raises(CommandError, match="rate-limit"):
        _create_api_key(tenant, "--rate-limit", typed)

    assert not ApiKey.objects.filter(tenant=tenant).exists()


def test_create_api_key_stores_the_largest_rate_limit_exactly() -> None:
    key = _create_api_key(make_tenant(), "--rate-limit", str(API_KEY_RATE_LIMIT_MAX))

    assert ApiKey.objects.get(key_hash=api_key_hash(key)).rate_limit == API_KEY_RATE_LIMIT_MAX


# --- agent signing key ids ---------------------------------------------------------------------


@pytest.mark.parametrize("key_id", [-1, 2**32, 2**63])
def test_the_service_refuses_a_key_id_outside_u32(owner: Persona, key_id: int) -> None:
    with pytest.raises(InvalidFieldValueError, match="keyId"):
        agent_key_register(tenant_id=owner.tenant_id, agent_id=uuid.uuid4(), key_id=key_id, public_key=KEY, actor="t")

    assert not AgentSigningKey.objects.filter(tenant_id=owner.tenant_id).exists()


@pytest.mark.parametrize("typed", ["٣", "+3", "3.0", "1_0", "4294967296", "-1"])
def test_the_admin_agent_key_form_takes_a_key_id_in_ascii_digits_only(
    staff_client: Client, owner: Persona, typed: str
) -> None:
    body = {"tenant_id": str(owner.tenant_id), "agent_id": str(uuid.uuid4()), "key_id": typed, "public_key": KEY.hex()}

    response = staff_client.post("/admin/event-store/agent-keys/register/", body)

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not AgentSigningKey.objects.filter(tenant_id=owner.tenant_id).exists()


@pytest.mark.parametrize("where", ["tenant_id", "agent_id"])
def test_the_admin_agent_key_form_takes_uuids_in_ascii_only(staff_client: Client, owner: Persona, where: str) -> None:
    """U+0661 (ARABIC-INDIC DIGIT ONE) for a 1: Django's UUIDField read it as that 1 and
    registered a key for an agent the operator never typed; the API refuses it."""
    agent = uuid.uuid4()
    body = {"tenant_id": str(owner.tenant_id), "agent_id": str(agent), "key_id": "1", "public_key": KEY.hex()}
    body[where] = "\u0661" + body[where][1:]

    response = staff_client.post("/admin/event-store/agent-keys/register/", body)

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not AgentSigningKey.objects.filter(tenant_id=owner.tenant_id).exists()
    listed = staff_client.get("/admin/event-store/agent-keys/", {"tenant_id": "\u0661" + str(owner.tenant_id)[1:]})
    assert listed.status_code == 200
    assert "tenant_id is not a UUID." in [str(m) for m in get_messages(listed.wsgi_request)]
