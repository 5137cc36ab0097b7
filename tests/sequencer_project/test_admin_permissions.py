"""Every page of the operator admin needs a Django permission; staff status alone opens only the
index and the operator's own pages (docs/projections.md "Operator admin", "Permissions").

Outside testers found a staff user with no permission reading every tenant's decrypted events and
rejected bodies and the audit log, registering and revoking any tenant's agent signing keys, and
offered the dead-letter actions. The matrix below walks every URL the admin site serves, read from
its URL resolver (a new page is classified in ``SITE_PAGES`` or fails
``test_every_admin_url_is_classified``), as four callers: anonymous, staff without permissions,
staff holding exactly the page's permission, and a superuser. Then every writing action is
posted the same ways, and the operator's own password change is audited.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.test import Client, RequestFactory
from django.urls import URLPattern, URLResolver
from django.utils import timezone

from audit.models import AuditLogEntry
from audit.services import audit_record
from events.models import DeadLetterStatus, ProjectionDeadLetter
from payments.models import BatchStatus, PaymentBatch, SettlementAttempt, SettlementDeadLetter
from tenants.credentials import api_key_hash
from tenants.models import AgentSigningKey, ApiKey, Tenant
from tenants.services import agent_key_register
from tests.commitments.helpers import create as commitment_create
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.payments.helpers import assembled_batch
from ves.signing import public_key_from_seed

pytestmark = pytest.mark.django_db

ADMIN = "/admin/"
PUBLIC = "public"  # the login and logout pages
STAFF = "staff"  # staff status alone: pages that show no row of any table
PAYLOAD_MARKER = "admin-permission-marker"

# The site's pages that no model admin serves, by URL name, with what each needs. Written by hand
# (not read from the site) so the matrix checks the site against this table.
SITE_PAGES: dict[str, str] = {
    "login": PUBLIC,
    "logout": PUBLIC,
    "index": STAFF,
    "password_change": STAFF,
    "password_change_done": STAFF,
    "jsi18n": STAFF,
    "view_on_site": STAFF,  # redirects to an object's own page (none here has one: 404)
    "autocomplete": "tenants.view_tenant",  # the searched model's view permission (the query below)
    "event_store_events": "events.view_event",
    "event_store_rejected": "events.view_rejectedevent",
    "event_store_agent_keys": "tenants.view_agentsigningkey",
    "event_store_agent_key_register": "tenants.add_agentsigningkey",
    "event_store_agent_key_revoke": "tenants.change_agentsigningkey",
}
# A model admin's pages, by the suffix of their URL name: the model permission each needs.
MODEL_PAGES = {
    "changelist": "view",
    "change": "view",  # read-only without "change"
    "history": "view",
    "add": "add",
    "delete": "delete",
    "password_change": "change",  # a user's password (auth.User)
}


@dataclass(frozen=True)
class AdminUrl:
    """One URL the site serves: its route, its name and, for a model admin's page, the model."""

    route: str
    name: str | None
    model: type[Any] | None = None
    app_label: str | None = None  # the app index (``app_list``) of this app

    @property
    def label(self) -> str:
        return f"{self.route} [{self.app_label}]" if self.app_label else self.route


def _walk(patterns: list[URLResolver | URLPattern], prefix: str = "") -> Iterator[AdminUrl]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
            continue
        route = prefix + str(entry.pattern)
        if entry.name == "app_list":
            found = re.search(r"\(\?P<app_label>([^)]*)\)", route)
            assert found is not None, route
            for app_label in found.group(1).split("|"):
                yield AdminUrl(route, entry.name, app_label=app_label)
        else:
            yield AdminUrl(route, entry.name, _model_of(route))


def _model_of(route: str) -> type[Any] | None:
    """The model whose admin serves ``route`` (its URLs start ``<app_label>/<model_name>/``)."""
    for model in admin.site._registry:
        if route.startswith(f"{model._meta.app_label}/{model._meta.model_name}/"):
            return model
    return None


ADMIN_URLS = list(_walk(admin.site.get_urls()))


# Pages Django's own admin gives a second condition: adding a user needs "change" too.
ALSO_NEEDED = {"auth_user_add": ("auth.change_user",)}


def required_permission(url: AdminUrl) -> tuple[str, ...]:
    """What ``url`` needs: ``(PUBLIC,)``, ``(STAFF,)`` or permissions (``app_label.codename``)."""
    if url.app_label is not None:  # the app's index lists the models the user may see: any will do
        model = next(m for m in admin.site._registry if m._meta.app_label == url.app_label)
        return (f"{url.app_label}.view_{model._meta.model_name}",)
    if url.model is not None:
        opts = url.model._meta
        if url.name is None:  # ``<id>/``: Django's redirect to the change page, which checks
            return (STAFF,)
        suffix = url.name.removeprefix(f"{opts.app_label}_{opts.model_name}_")
        return (f"{opts.app_label}.{MODEL_PAGES[suffix]}_{opts.model_name}", *ALSO_NEEDED.get(url.name, ()))
    if url.name is None:  # the catch-all: 404 for staff
        return (STAFF,)
    return (SITE_PAGES[url.name],)


def test_every_admin_url_is_classified() -> None:
    """A page added to the site fails here until its permission is written down above."""
    unnamed = [url.route for url in ADMIN_URLS if url.name is None and url.model is None]
    assert unnamed == ["(?P<url>.*)$"]
    site_pages = {url.name for url in ADMIN_URLS if url.model is None and url.name and url.name != "app_list"}
    assert site_pages == set(SITE_PAGES)
    for url in ADMIN_URLS:
        assert required_permission(url), url
    assert len({url.model for url in ADMIN_URLS if url.model is not None}) >= 11


# ---------------------------------------------------------------------------------------------
# The callers and the rows each page shows.


def _login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def staff_user(name: str, *permissions: str, password: str | None = None) -> User:
    """An active staff user (not a superuser) holding exactly ``permissions`` (logged in by
    ``force_login``: no password, unless one is given, so no slow hashing)."""
    user = User.objects.create_user(name, password=password, is_staff=True)
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return User.objects.get(pk=user.pk)  # a fresh instance: no permission cache


@pytest.fixture
def superuser_client(db: None) -> Client:
    return _login(User.objects.create_superuser("root-operator", "root@example.com", None))


@pytest.fixture
def no_permission_client(db: None) -> Client:
    return _login(staff_user("op-noperm"))


@dataclass(frozen=True)
class Rows:
    """One row of every model the admin lists, and the stream holding the events."""

    owner: Persona
    projection_dead_letter: ProjectionDeadLetter
    settlement_dead_letter: SettlementDeadLetter
    agent_id: uuid.UUID


PUBLIC_KEY = public_key_from_seed(b"\x31" * 32)


@pytest.fixture
def rows(owner: Persona, post_ingest: IngestPoster) -> Rows:
    events = [legacy_event(owner.tenant_id, owner.store_id, payload={"note": PAYLOAD_MARKER}) for _ in range(2)]
    ingested = post_ingest(owner.client, {"events": events})
    assert ingested.status_code == 200, ingested.content
    assert commitment_create(owner.client, "", owner.tenant_id, owner.store_id, 1, 2).status_code in (200, 201)
    batch = assembled_batch(owner, count=1)
    PaymentBatch.objects.filter(tenant_id=owner.tenant_id, batch_id=batch.batch_id).update(status=BatchStatus.FAILED)
    SettlementAttempt.objects.create(
        batch=batch, tenant_id=owner.tenant_id, attempt=1, backend="evm", outcome="error", error="boom"
    )
    now = timezone.now()
    settlement = SettlementDeadLetter.objects.create(
        batch=batch,
        tenant_id=owner.tenant_id,
        store_id=owner.store_id,
        attempts=3,
        error_message="boom",
        created_at=now,
    )
    projection = ProjectionDeadLetter.objects.create(
        projection="entity_state",
        tenant_id=owner.tenant_id,
        store_id=owner.store_id,
        stream_kind=1,
        sequence_number=1,
        event_id=uuid.UUID(events[0]["event_id"]),
        error_class="ValueError",
        error_message="boom",
        attempts=1,
        status=DeadLetterStatus.PARKED,
        first_failed_at=now,
        last_failed_at=now,
    )
    agent_id = uuid.uuid4()
    agent_key_register(
        tenant_id=owner.tenant_id, agent_id=agent_id, key_id=1, public_key=PUBLIC_KEY, actor="test:fixture"
    )
    Group.objects.create(name="operators")
    return Rows(owner, projection, settlement, agent_id)


def concrete(url: AdminUrl, rows: Rows) -> str:
    """``url``'s route with its parameters filled from ``rows`` (and the query its page reads)."""
    route = url.route
    if url.app_label is not None:
        return f"{ADMIN}{url.app_label}/"
    if url.name is None and url.model is None:
        return f"{ADMIN}no-such-page/"
    if url.model is not None:
        row = url.model._default_manager.order_by("pk").first()
        assert row is not None, f"the fixture has no {url.model.__name__} row"
        # An API key's pages are addressed by its credential id, never its hash (tenants/admin_credential_ids.py).
        object_id = row.hash_prefix if isinstance(row, ApiKey) else str(row.pk)
        route = route.replace("<path:object_id>", quote(object_id)).replace("<id>", str(row.pk))
    if url.name == "view_on_site":
        content_type = ContentType.objects.get_for_model(Tenant)
        route = route.replace("<path:content_type_id>", str(content_type.pk)).replace(
            "<path:object_id>", str(rows.owner.tenant_id)
        )
    query = {
        "event_store_events": f"?tenant_id={rows.owner.tenant_id}&store_id={rows.owner.store_id}",
        "event_store_rejected": f"?tenant_id={rows.owner.tenant_id}",
        "event_store_agent_keys": f"?tenant_id={rows.owner.tenant_id}",
        "autocomplete": "?app_label=tenants&model_name=apikey&field_name=tenant",
    }.get(url.name or "", "")
    assert "<" not in route, route
    return f"{ADMIN}{route}{query}"


def _refused_even_to_a_superuser(url: AdminUrl) -> int | None:
    """The status a superuser gets by design where a page refuses everyone, else ``None``."""
    if url.model is not None and url.name is not None:
        suffix = url.name.rsplit("_", 1)[-1]
        model_admin = admin.site._registry[url.model]
        request = RequestFactory().get(ADMIN)
        request.user = User(is_active=True, is_staff=True, is_superuser=True)
        if suffix == "add" and not model_admin.has_add_permission(request):
            return 403  # read-only pages: rows come from services only
        if suffix == "delete" and not model_admin.has_delete_permission(request):
            return 403
    if url.name == "view_on_site" or (url.name is None and url.model is None):
        return 404
    if url.name in {"logout", "event_store_agent_key_revoke"}:
        return 405  # POST only (logging out, too)
    return None


# ---------------------------------------------------------------------------------------------
# The matrix.


# Known departures from "refused is 403", each waiting for a change outside this test's files.
KNOWN_DEPARTURES: dict[str, str] = {}  # route -> why it still departs from the matrix (strict xfail)


def _matrix_params() -> list[Any]:
    return [
        pytest.param(
            url,
            id=url.label,
            marks=[pytest.mark.xfail(strict=True, reason=KNOWN_DEPARTURES[url.route])]
            if url.route in KNOWN_DEPARTURES
            else [],
        )
        for url in ADMIN_URLS
    ]


@pytest.mark.parametrize("url", _matrix_params())
def test_every_page_needs_its_permission(
    url: AdminUrl, rows: Rows, superuser_client: Client, no_permission_client: Client
) -> None:
    address = concrete(url, rows)
    permissions = required_permission(url)

    anonymous = Client().get(address)
    as_superuser = superuser_client.get(address)
    without = no_permission_client.get(address)

    if url.name == "login":
        assert anonymous.status_code == 200
    elif url.name == "logout":  # Django sends a logged-out visitor from logout to the index
        assert (anonymous.status_code, anonymous["Location"]) == (302, ADMIN)
    else:
        assert anonymous.status_code == 302, (address, anonymous.status_code)
        assert anonymous["Location"].startswith(f"{ADMIN}login/"), address
    refused = _refused_even_to_a_superuser(url)
    if refused is not None:
        assert as_superuser.status_code == refused, (address, as_superuser.status_code)
    else:
        assert as_superuser.status_code in {200, 302}, (address, as_superuser.status_code)
    if permissions in ((PUBLIC,), (STAFF,)):
        assert without.status_code == as_superuser.status_code, (address, without.status_code)
        return
    assert without.status_code == (404 if url.app_label else 403), (address, without.status_code)
    assert PAYLOAD_MARKER not in without.content.decode(errors="replace")
    holder = _login(staff_user("op-exact", *permissions))
    exact = holder.get(address)
    assert exact.status_code == as_superuser.status_code, (address, permissions, exact.status_code)
    if len(permissions) > 1:  # each is needed
        for left_out in permissions:
            partial = _login(staff_user(f"op-no-{left_out}", *(p for p in permissions if p != left_out)))
            assert partial.get(address).status_code == 403, (address, left_out)


def test_the_event_pages_show_decrypted_payloads_only_to_their_permission(
    rows: Rows, superuser_client: Client, no_permission_client: Client
) -> None:
    page = f"{ADMIN}event-store/events/?tenant_id={rows.owner.tenant_id}&store_id={rows.owner.store_id}"
    reader = _login(staff_user("op-events", "events.view_event"))
    rejected_reader = _login(staff_user("op-rejected", "events.view_rejectedevent"))

    assert PAYLOAD_MARKER in superuser_client.get(page).content.decode()
    assert PAYLOAD_MARKER in reader.get(page).content.decode()
    assert no_permission_client.get(page).status_code == 403
    assert rejected_reader.get(page).status_code == 403
    assert reader.get(f"{ADMIN}event-store/rejected/").status_code == 403
    assert rejected_reader.get(f"{ADMIN}event-store/rejected/").status_code == 200


# ---------------------------------------------------------------------------------------------
# The index shows what the user may open, nothing more.


def test_the_index_shows_a_staff_user_without_permissions_nothing(no_permission_client: Client) -> None:
    page = no_permission_client.get(ADMIN).content.decode()

    assert "permission to view or edit anything" in page
    for text in ("Event store", "Events (by stream)", "Rejected events", "Agent signing keys", "Audit log"):
        assert text not in page


def test_the_index_lists_each_event_store_page_to_its_permission(db: None) -> None:
    events_only = _login(staff_user("op-events", "events.view_event")).get(ADMIN).content.decode()
    register_only = _login(staff_user("op-register", "tenants.add_agentsigningkey")).get(ADMIN).content.decode()
    audit_only = _login(staff_user("op-audit", "audit.view_auditlogentry")).get(ADMIN).content.decode()

    assert "Event store" in events_only
    assert f'href="{ADMIN}event-store/events/"' in events_only
    assert "Rejected events" not in events_only
    assert "Agent signing keys" not in events_only
    assert "Audit log" not in events_only
    assert "Agent signing keys" in register_only
    assert f'href="{ADMIN}event-store/agent-keys/register/"' in register_only
    assert f'href="{ADMIN}event-store/agent-keys/"' not in register_only
    assert "Event store" not in audit_only
    assert "Audit log" in audit_only


def test_pages_offer_only_the_forms_and_links_their_viewer_may_use(rows: Rows) -> None:
    keys_url = f"{ADMIN}event-store/agent-keys/?tenant_id={rows.owner.tenant_id}"
    tenant_url = f"{ADMIN}tenants/tenant/{rows.owner.tenant_id}/change/"
    view_keys = _login(staff_user("op-keys-view", "tenants.view_agentsigningkey")).get(keys_url).content.decode()
    manage_keys = (
        _login(
            staff_user(
                "op-keys-all",
                "tenants.view_agentsigningkey",
                "tenants.add_agentsigningkey",
                "tenants.change_agentsigningkey",
            )
        )
        .get(keys_url)
        .content.decode()
    )
    view_tenant = _login(staff_user("op-tenant-view", "tenants.view_tenant")).get(tenant_url).content.decode()

    assert 'value="Revoke"' not in view_keys
    assert "Register a key" not in view_keys
    assert 'value="Revoke"' in manage_keys
    assert "Register a key" in manage_keys
    for link in ("event-store/events/", "tenants/apikey/", "event-store/agent-keys/", "event-store/rejected/"):
        assert f"{ADMIN}{link}" not in view_tenant
    assert "Dead letters" not in view_tenant


# ---------------------------------------------------------------------------------------------
# Actions that write: refused without their permission, with nothing written.


@dataclass(frozen=True)
class WritingAction:
    """A POST that changes something, the permission it needs and the one that only shows it."""

    name: str
    permission: str
    view_permission: str

    def post(self, client: Client, rows: Rows) -> Any:
        if self.name == "register":
            body = {
                "tenant_id": str(rows.owner.tenant_id),
                "agent_id": str(uuid.uuid4()),
                "key_id": "9",
                "public_key": PUBLIC_KEY.hex(),
            }
            return client.post(f"{ADMIN}event-store/agent-keys/register/", body)
        if self.name == "revoke":
            body = {"tenant_id": str(rows.owner.tenant_id), "agent_id": str(rows.agent_id), "key_id": "1"}
            return client.post(f"{ADMIN}event-store/agent-keys/revoke/", body)
        selected: object
        if self.name == "revoke_keys":
            changelist = f"{ADMIN}tenants/apikey/"
            selected = ApiKey.objects.get(key_hash=api_key_hash(rows.owner.key)).hash_prefix
        elif self.name == "redrive":
            changelist, selected = f"{ADMIN}payments/settlementdeadletter/", rows.settlement_dead_letter.pk
        else:
            changelist, selected = f"{ADMIN}events/projectiondeadletter/", rows.projection_dead_letter.pk
        return client.post(changelist, {"action": self.name, "_selected_action": [str(selected)], "index": 0})

    def done(self, rows: Rows) -> bool:
        """Whether the action's audit row (an operator of the admin its actor) was written."""
        action = {
            "register": "agent_key.register",
            "revoke": "agent_key.revoke",
            "retry_now": "dead_letter.retry",
            "discard": "dead_letter.discard",
            "redrive": "x402_dead_letter.redrive",
            "revoke_keys": "api_key.revoke",
        }[self.name]
        return AuditLogEntry.objects.filter(action=action, actor__startswith="admin:").exists()


WRITING_ACTIONS = [
    WritingAction("register", "tenants.add_agentsigningkey", "tenants.view_agentsigningkey"),
    WritingAction("revoke", "tenants.change_agentsigningkey", "tenants.view_agentsigningkey"),
    WritingAction("retry_now", "events.change_projectiondeadletter", "events.view_projectiondeadletter"),
    WritingAction("discard", "events.change_projectiondeadletter", "events.view_projectiondeadletter"),
    WritingAction("redrive", "payments.change_settlementdeadletter", "payments.view_settlementdeadletter"),
    WritingAction("revoke_keys", "tenants.change_apikey", "tenants.view_apikey"),
]


@pytest.mark.parametrize("action", WRITING_ACTIONS, ids=[a.name for a in WRITING_ACTIONS])
@pytest.mark.parametrize("caller", ["anonymous", "no permission", "view permission"])
def test_a_writing_action_is_refused_without_its_permission(
    action: WritingAction, caller: str, rows: Rows, no_permission_client: Client
) -> None:
    client = {
        "anonymous": Client(),
        "no permission": no_permission_client,
        "view permission": _login(staff_user("op-viewer", action.view_permission)),
    }[caller]
    before = _written_state()

    response = action.post(client, rows)

    assert response.status_code == (302 if caller == "anonymous" else 403), response.status_code
    if caller == "anonymous":
        assert response["Location"].startswith(f"{ADMIN}login/")
    assert not action.done(rows)
    assert _written_state() == before


def _written_state() -> list[Any]:
    """Every row the writing actions change, as values."""
    return [
        list(model._default_manager.order_by("pk").values())
        for model in (AgentSigningKey, ApiKey, ProjectionDeadLetter, SettlementDeadLetter, PaymentBatch, AuditLogEntry)
    ]


@pytest.mark.parametrize("action", WRITING_ACTIONS, ids=[a.name for a in WRITING_ACTIONS])
@pytest.mark.parametrize("caller", ["exact permission", "superuser"])
def test_a_writing_action_runs_with_its_permission(
    action: WritingAction, caller: str, rows: Rows, superuser_client: Client
) -> None:
    client = superuser_client if caller == "superuser" else _login(staff_user("op-actor", action.permission))

    response = action.post(client, rows)

    assert response.status_code == 302, response.status_code
    assert action.done(rows)


@pytest.mark.parametrize(
    ("changelist", "model", "actions"),
    [
        (f"{ADMIN}events/projectiondeadletter/", "projectiondeadletter", ("retry_now", "discard")),
        (f"{ADMIN}payments/settlementdeadletter/", "settlementdeadletter", ("redrive",)),
    ],
)
def test_a_dead_letter_list_offers_its_actions_only_with_change_permission(
    rows: Rows, changelist: str, model: str, actions: tuple[str, ...]
) -> None:
    app_label = "events" if model == "projectiondeadletter" else "payments"
    viewer = _login(staff_user("op-viewer", f"{app_label}.view_{model}")).get(changelist)
    changer = _login(staff_user("op-changer", f"{app_label}.change_{model}")).get(changelist)

    assert (viewer.status_code, changer.status_code) == (200, 200)
    for action in actions:
        assert f'value="{action}"' not in viewer.content.decode()
        assert f'value="{action}"' in changer.content.decode()


# ---------------------------------------------------------------------------------------------
# The operator's own password page is audited.


@pytest.mark.django_db(transaction=True)  # no test transaction: the page's own must hold the row
def test_changing_ones_own_password_writes_an_audit_row() -> None:
    user = staff_user("op-password", password="a-long-test-password")
    client = Client()
    assert client.login(username="op-password", password="a-long-test-password")

    wrong = client.post(
        f"{ADMIN}password_change/",
        {
            "old_password": "not-it",
            "new_password1": "another-long-password-9",
            "new_password2": "another-long-password-9",
        },
    )
    changed = client.post(
        f"{ADMIN}password_change/",
        {
            "old_password": "a-long-test-password",
            "new_password1": "another-long-password-9",
            "new_password2": "another-long-password-9",
        },
    )

    assert wrong.status_code == 200
    assert (changed.status_code, changed["Location"]) == (302, f"{ADMIN}password_change/done/")
    assert client.get(ADMIN).status_code == 200  # still logged in
    user.refresh_from_db()
    assert user.check_password("another-long-password-9")
    assert list(AuditLogEntry.objects.values_list("actor", "action", "target_type", "target_id", "detail")) == [
        (
            "admin:op-password",
            "user.update",
            "user",
            str(user.pk),
            {"name": "op-password", "changed": ["password"], "staff": True, "superuser": False, "active": True},
        )
    ]


def test_audit_rows_need_the_audit_view_permission(no_permission_client: Client) -> None:
    from django.db import transaction

    with transaction.atomic():
        audit_record(actor="test", action="tenant.update", target_type="tenant", target_id="x")
    reader = _login(staff_user("op-auditor", "audit.view_auditlogentry"))

    assert no_permission_client.get(f"{ADMIN}audit/auditlogentry/").status_code == 403
    assert "tenant.update" in reader.get(f"{ADMIN}audit/auditlogentry/").content.decode()
