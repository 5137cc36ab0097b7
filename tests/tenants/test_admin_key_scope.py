"""The admin's "Create API key" form offers the store and agent scope ``create_api_key --store
--agent`` offers, through the same service (docs/auth.md, "Operator admin and command line")."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from audit.models import AuditLogEntry
from tenants.models import ApiKey
from tests.conftest import Persona, api_client

pytestmark = pytest.mark.django_db

ADD = "/admin/tenants/apikey/add/"


def _form(owner: Persona, **fields: str) -> dict[str, str]:
    return {"tenant": str(owner.tenant_id), "name": "scoped", "can_read": "on", "can_write": "on", **fields}


def test_the_form_creates_a_key_scoped_to_its_stores_and_agent(staff_client: Client, owner: Persona) -> None:
    other_store, agent = uuid.uuid4(), uuid.uuid4()
    stores = f"{owner.store_id}, {other_store}\n{owner.store_id}\n"  # commas, lines, a repeat

    page = staff_client.get(ADD).content.decode()
    created = staff_client.post(ADD, _form(owner, store_ids=stores, agent_id=f" {agent} "))

    assert 'name="store_ids"' in page
    assert 'name="agent_id"' in page
    assert created.status_code == 200, created.content
    stored = ApiKey.objects.get(name="scoped")
    assert sorted(stored.store_ids, key=str) == sorted([owner.store_id, other_store], key=str)
    assert stored.agent_id == agent
    key = created.content.decode().split('id="new-api-key">')[1].split("<")[0]
    client = api_client(key)
    outside = client.get(f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={uuid.uuid4()}")
    inside = client.get(f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}")
    assert (outside.status_code, outside.json()["code"]) == (403, "store_access_denied")
    assert inside.status_code == 200, inside.content


def test_an_empty_scope_makes_an_unscoped_key(staff_client: Client, owner: Persona) -> None:
    created = staff_client.post(ADD, _form(owner, store_ids=" \n, ", agent_id=""))

    assert created.status_code == 200, created.content
    stored = ApiKey.objects.get(name="scoped")
    assert (stored.store_ids, stored.agent_id) == ([], None)


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"store_ids": "not-a-uuid"}, "Not a store UUID: &#x27;not-a-uuid&#x27;."),
        ({"store_ids": f"{uuid.uuid4()},{uuid.uuid4().hex[:-1]}"}, "Not a store UUID: "),
        ({"store_ids": "٣" * 32}, "Not a store UUID: "),  # Arabic-Indic digits uuid.UUID would read
        ({"store_ids": "\n".join(str(uuid.uuid4()) for _ in range(51))}, "At most 50 stores (51 given)."),
        ({"agent_id": "agent-7"}, "Not an agent UUID: &#x27;agent-7&#x27;."),
        ({"agent_id": "٣" * 32}, "Not an agent UUID: "),
        ({"agent_id": "x" * 65}, "Ensure this value has at most 64 characters"),
    ],
)
def test_a_malformed_scope_is_a_form_error_and_creates_nothing(
    staff_client: Client, owner: Persona, fields: dict[str, str], error: str
) -> None:
    keys_before, rows_before = ApiKey.objects.count(), AuditLogEntry.objects.count()

    refused = staff_client.post(ADD, _form(owner, **fields))

    assert refused.status_code == 200
    page = refused.content.decode()
    assert 'id="apikey-create"' in page  # the form again, not the created page
    assert error in page
    assert 'id="new-api-key"' not in page
    assert (ApiKey.objects.count(), AuditLogEntry.objects.count()) == (keys_before, rows_before)


def test_a_scope_holding_a_nul_is_refused_before_the_form(staff_client: Client, owner: Persona) -> None:
    """The admin answers a parameter holding U+0000 with a 400 page (never a 500), as elsewhere."""
    keys_before = ApiKey.objects.count()

    refused = [staff_client.post(ADD, _form(owner, **{field: "a\x00b"})) for field in ("store_ids", "agent_id")]

    assert [response.status_code for response in refused] == [400, 400]
    assert ApiKey.objects.count() == keys_before


def test_staff_without_the_add_permission_cannot_create_a_scoped_key(owner: Persona) -> None:
    viewer = User.objects.create_user("key-viewer", password="a-long-test-password", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    client = Client()
    client.login(username="key-viewer", password="a-long-test-password")
    keys_before, rows_before = ApiKey.objects.count(), AuditLogEntry.objects.count()

    shown = client.get(ADD)
    posted = client.post(ADD, _form(owner, store_ids=str(owner.store_id), agent_id=str(uuid.uuid4())))

    assert (shown.status_code, posted.status_code) == (403, 403)
    assert (ApiKey.objects.count(), AuditLogEntry.objects.count()) == (keys_before, rows_before)
