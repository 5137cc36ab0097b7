"""The operator admin renders tenancy pages (server-side binding and composite keys included)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.test import Client

from audit.models import AuditLogEntry
from tenants.models import AgentSigningKey, ApiKey
from tests.conftest import Persona
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db


def test_tenants_and_keys_are_listed_without_the_secret(staff_client: Client, owner: Persona) -> None:
    tenants = staff_client.get("/admin/tenants/tenant/")
    keys = staff_client.get("/admin/tenants/apikey/")

    assert tenants.status_code == 200
    assert owner.tenant.name in tenants.content.decode()
    assert keys.status_code == 200
    assert owner.key[:12] in keys.content.decode()
    assert owner.key not in keys.content.decode()


def test_no_admin_page_carries_a_keys_hash(staff_client: Client, owner: Persona) -> None:
    """Key pages are addressed by the credential id (the hash's first 16 hex digits), as the
    service names keys everywhere else: the list's links and checkboxes, the key's page and its
    history, and the tenant's page never show the stored hash (docs/reliability.md, "Secrets")."""
    key = ApiKey.objects.get(tenant=owner.tenant)
    pages = {
        "list": staff_client.get("/admin/tenants/apikey/"),
        "key": staff_client.get(f"/admin/tenants/apikey/{key.hash_prefix}/change/"),
        "history": staff_client.get(f"/admin/tenants/apikey/{key.hash_prefix}/history/"),
        "tenant": staff_client.get(f"/admin/tenants/tenant/{owner.tenant_id}/change/"),
    }

    assert {name: page.status_code for name, page in pages.items()} == dict.fromkeys(pages, 200)
    for name, page in pages.items():
        assert key.key_hash[16:] not in page.content.decode(), name
    assert f'href="/admin/tenants/apikey/{key.hash_prefix}/change/"' in pages["list"].content.decode()
    assert f'value="{key.hash_prefix}"' in pages["list"].content.decode()
    assert f'href="/admin/tenants/apikey/{key.hash_prefix}/change/"' in pages["tenant"].content.decode()
    assert f'href="/admin/tenants/apikey/{key.hash_prefix}/history/"' in pages["key"].content.decode()
    assert key.hash_prefix in pages["key"].content.decode()  # shown as its credential id


@pytest.mark.parametrize("address", ["whole hash", "too short", "not hex"])
def test_a_key_page_is_found_only_by_its_credential_id(staff_client: Client, owner: Persona, address: str) -> None:
    key = ApiKey.objects.get(tenant=owner.tenant)
    object_id = {"whole hash": key.key_hash, "too short": key.hash_prefix[:15], "not hex": "g" * 16}[address]

    page = staff_client.get(f"/admin/tenants/apikey/{object_id}/change/", follow=True)

    assert page.redirect_chain[-1][0] == "/admin/"  # Django's answer for a page of no object
    assert "doesn\u2019t exist" in page.content.decode()  # Django's message, with its apostrophe


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
    change = staff_client.get(f"/admin/tenants/apikey/{stored.hash_prefix}/change/").content.decode()
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
        ("tenant.update", "admin:operator", {"changed": ["name"], "old": {"name": "Acme"}, "new": {"name": "Acme 2"}}),
    ]


def test_saving_a_tenant_unchanged_records_nothing(staff_client: Client, owner: Persona) -> None:
    page = f"/admin/tenants/tenant/{owner.tenant_id}/change/"

    saved = staff_client.post(page, {"name": owner.tenant.name, "is_active": "on"})
    deactivated = staff_client.post(page, {"name": owner.tenant.name})

    assert (saved.status_code, deactivated.status_code) == (302, 302)
    assert list(AuditLogEntry.objects.filter(action="tenant.update").values_list("detail", flat=True)) == [
        {"changed": ["is_active"], "old": {"is_active": True}, "new": {"is_active": False}}
    ]


def test_posting_an_api_key_page_changes_nothing(staff_client: Client, owner: Persona) -> None:
    """The page shows the key (no Save button); a POST to it is refused, so it cannot rewrite the
    row (nor undo a revocation committed since the page was read) outside the audited services."""
    from django.contrib.admin.models import LogEntry

    key = ApiKey.objects.get(tenant=owner.tenant)
    page = f"/admin/tenants/apikey/{key.hash_prefix}/change/"
    before = ApiKey.objects.filter(pk=key.pk).values().get()

    shown = staff_client.get(page)
    posted = staff_client.post(page, {"_save": "1"})
    renamed = staff_client.post(page, {"_continue": "1", "name": "renamed", "can_admin": "on", "active": "on"})

    assert shown.status_code == 200
    assert 'name="_save"' not in shown.content.decode()
    assert (posted.status_code, renamed.status_code) == (403, 403)
    assert ApiKey.objects.filter(pk=key.pk).values().get() == before
    assert not LogEntry.objects.exists()
    assert not AuditLogEntry.objects.filter(actor="admin:operator").exists()


def test_the_revoke_action_revokes_once_and_says_which_were_revoked_already(
    staff_client: Client, owner: Persona
) -> None:
    key = ApiKey.objects.get(tenant=owner.tenant)
    action = {"action": "revoke_keys", "_selected_action": [key.hash_prefix], "index": "0"}

    first = staff_client.post("/admin/tenants/apikey/", action, follow=True)
    second = staff_client.post("/admin/tenants/apikey/", action, follow=True)

    assert "Revoked 1 API key(s)." in first.content.decode()
    assert "Revoked 0 API key(s); 1 already revoked." in second.content.decode()
    assert not ApiKey.objects.get(pk=key.pk).active
    assert list(AuditLogEntry.objects.filter(actor="admin:operator").values_list("action", flat=True)) == [
        "api_key.revoke"
    ]


def test_staff_who_may_only_view_api_keys_cannot_revoke_them(owner: Persona) -> None:
    from django.contrib.auth.models import Permission, User

    viewer = User.objects.create_user("viewer", password="a-long-test-password", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_apikey"))
    client = Client()
    client.login(username="viewer", password="a-long-test-password")
    key = ApiKey.objects.get(tenant=owner.tenant)

    listing = client.get("/admin/tenants/apikey/")
    client.post(
        "/admin/tenants/apikey/", {"action": "revoke_keys", "_selected_action": [key.hash_prefix], "index": "0"}
    )

    assert listing.status_code == 200
    assert "revoke_keys" not in listing.content.decode()
    assert ApiKey.objects.get(pk=key.pk).active


AGENT_KEYS = "/admin/event-store/agent-keys/"
PUBLIC_KEY = public_key_from_seed(b"\x22" * 32)


def _signing_key(owner: Persona, agent: uuid.UUID, **extra: str) -> dict[str, str]:
    return {"tenant_id": str(owner.tenant_id), "agent_id": str(agent), "key_id": "7", **extra}


def test_agent_signing_keys_have_one_admin_view_per_operation(staff_client: Client, owner: Persona) -> None:
    agent = uuid.uuid4()

    registered = staff_client.post(f"{AGENT_KEYS}register/", _signing_key(owner, agent, public_key=PUBLIC_KEY.hex()))
    listed = staff_client.get(f"{AGENT_KEYS}?tenant_id={owner.tenant_id}")
    revoked = staff_client.post(f"{AGENT_KEYS}revoke/", _signing_key(owner, agent))

    assert (registered.status_code, registered["Location"]) == (302, f"{AGENT_KEYS}?tenant_id={owner.tenant_id}")
    assert PUBLIC_KEY.hex() in listed.content.decode()
    assert 'action="register/"' in listed.content.decode()
    assert (revoked.status_code, revoked["Location"]) == (302, f"{AGENT_KEYS}?tenant_id={owner.tenant_id}")
    key = AgentSigningKey.objects.get(tenant_id=owner.tenant_id, agent_id=agent, key_id=7)
    assert key.status == "revoked"
    assert list(AuditLogEntry.objects.filter(target_id=f"{agent}/7").order_by("id").values_list("action", "actor")) == [
        ("agent_key.register", "admin:operator"),
        ("agent_key.revoke", "admin:operator"),
    ]
    assert staff_client.post(AGENT_KEYS, _signing_key(owner, agent)).status_code == 405  # the list only lists


@pytest.mark.parametrize(
    "public_key",
    ["zz" * 32, "ab" * 31, PUBLIC_KEY.hex()[:32] + " " + PUBLIC_KEY.hex()[32:], "01" + "00" * 31],
)
def test_a_refused_signing_key_is_shown_again_with_its_error(
    staff_client: Client, owner: Persona, public_key: str
) -> None:
    response = staff_client.post(f"{AGENT_KEYS}register/", _signing_key(owner, uuid.uuid4(), public_key=public_key))

    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert not AgentSigningKey.objects.filter(tenant_id=owner.tenant_id).exists()


def test_a_duplicate_signing_key_is_refused_by_the_service(staff_client: Client, owner: Persona) -> None:
    body = _signing_key(owner, uuid.uuid4(), public_key="0x" + PUBLIC_KEY.hex())
    staff_client.post(f"{AGENT_KEYS}register/", body)

    again = staff_client.post(f"{AGENT_KEYS}register/", body)

    assert again.status_code == 200
    assert "already has key 7" in again.content.decode()
    assert AgentSigningKey.objects.filter(tenant_id=owner.tenant_id).count() == 1


@pytest.mark.parametrize(
    "body",
    [{"tenant_id": "nope", "agent_id": str(uuid.uuid4()), "key_id": "7"}, {"key_id": "x"}, {}],
)
def test_a_malformed_revocation_is_a_message_not_an_error(staff_client: Client, body: dict[str, str]) -> None:
    response = staff_client.post(f"{AGENT_KEYS}revoke/", body, follow=True)

    assert response.status_code == 200
    assert "Bad request" in response.content.decode()


def test_registering_a_key_for_an_unknown_tenant_is_a_form_error(staff_client: Client, owner: Persona) -> None:
    """Tenants are created on their own page (audited ``tenant.create``), never as a side effect."""
    from tenants.models import Tenant

    unknown = uuid.uuid4()
    body = {**_signing_key(owner, uuid.uuid4(), public_key=PUBLIC_KEY.hex()), "tenant_id": str(unknown)}

    response = staff_client.post(f"{AGENT_KEYS}register/", body)

    assert response.status_code == 200
    assert f"Tenant {unknown} does not exist" in response.content.decode()
    assert not Tenant.objects.filter(id=unknown).exists()
    assert not AgentSigningKey.objects.filter(tenant_id=unknown).exists()
    assert not AuditLogEntry.objects.filter(actor="admin:operator").exists()


def test_revoking_a_revoked_signing_key_again_says_so_and_records_nothing(staff_client: Client, owner: Persona) -> None:
    agent = uuid.uuid4()
    staff_client.post(f"{AGENT_KEYS}register/", _signing_key(owner, agent, public_key=PUBLIC_KEY.hex()))
    staff_client.post(f"{AGENT_KEYS}revoke/", _signing_key(owner, agent))
    revoked_at = AgentSigningKey.objects.get(tenant_id=owner.tenant_id, agent_id=agent).revoked_at

    again = staff_client.post(f"{AGENT_KEYS}revoke/", _signing_key(owner, agent), follow=True)

    assert f"The key 7 of agent {agent} was already revoked." in again.content.decode()
    assert AgentSigningKey.objects.get(tenant_id=owner.tenant_id, agent_id=agent).revoked_at == revoked_at
    assert AuditLogEntry.objects.filter(action="agent_key.revoke").count() == 1


def test_revoking_an_unknown_signing_key_is_a_message(staff_client: Client, owner: Persona) -> None:
    response = staff_client.post(f"{AGENT_KEYS}revoke/", _signing_key(owner, uuid.uuid4()), follow=True)

    assert response.status_code == 200
    assert "has no key 7" in response.content.decode()
