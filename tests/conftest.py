"""Shared fixtures: API clients per persona (owner, store-scoped member, outsider, admin)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import hypothesis
import orjson
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from streams.kinds import StreamKind
from tenants.models import Tenant
from tenants.selectors import api_key_cache_clear
from tests import wsgi
from tests.tenants.factories import issue_key, make_tenant

pytest_plugins = ["tests.events.projections.fixtures"]

# Property tests check what code does, never how fast: no per-example deadline, which a loaded
# machine (CI shares two cores with PostgreSQL) would turn into failures of correct code. The
# library's tests run alone in tests/ves/test_distribution.py with the same profile.
hypothesis.settings.register_profile("suite", deadline=None)
hypothesis.settings.load_profile("suite")


@pytest.fixture(scope="session", autouse=True)
def _test_database_can_be_dropped(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """A run leaves the database server as it found it: before pytest-django drops the test
    database, end the sessions that still hold it (a SIGKILLed worker's backend outlives the
    worker for a while, and DROP DATABASE would fail and leave the database behind)."""
    yield
    if not connection.settings_dict["NAME"].startswith("test_"):
        return  # no collected test needed the database, so pytest-django created none
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _fresh_key_cache() -> Iterator[None]:
    api_key_cache_clear()
    yield
    api_key_cache_clear()


@dataclass(frozen=True)
class Persona:
    """A caller: its tenant, the store it writes to, and an authenticated client."""

    tenant: Tenant
    store_id: uuid.UUID
    key: str
    client: APIClient

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.tenant.id


def api_client(key: str | None = None) -> APIClient:
    client = APIClient()
    if key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"ApiKey {key}")
    return client


@pytest.fixture
def owner(db: None) -> Persona:
    tenant = make_tenant()
    key = issue_key(tenant, can_write=True, can_admin=True)
    return Persona(tenant, uuid.uuid4(), key, api_client(key))


@pytest.fixture
def member(owner: Persona) -> Persona:
    """Same tenant as ``owner``, but a read/write key scoped to one store of its own."""
    store_id = uuid.uuid4()
    key = issue_key(owner.tenant, can_write=True, store_ids=[store_id])
    return Persona(owner.tenant, store_id, key, api_client(key))


@pytest.fixture
def outsider(db: None) -> Persona:
    tenant = make_tenant()
    key = issue_key(tenant, can_write=True)
    return Persona(tenant, uuid.uuid4(), key, api_client(key))


@pytest.fixture
def staff_client(db: None) -> Client:
    """A logged-in superuser of the operator admin (``/admin/``)."""
    User.objects.create_superuser("operator", "operator@example.com", "a-long-test-password")
    client = Client()
    client.login(username="operator", password="a-long-test-password")
    return client


@pytest.fixture
def admin_client() -> APIClient:
    """The bootstrap admin (from the environment), acting for every tenant."""
    return api_client(settings.BOOTSTRAP_ADMIN_API_KEY)


def legacy_event(tenant_id: uuid.UUID, store_id: uuid.UUID, **overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "tenant_id": str(tenant_id),
        "store_id": str(store_id),
        "entity_type": "order",
        "entity_id": f"order-{uuid.uuid4().hex[:8]}",
        "event_type": "order.created",
        "payload": {"total": 42, "currency": "USD", "lines": [{"sku": "A-1", "qty": 2}]},
        "created_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    event.update(overrides)
    return event


IngestPoster = Callable[..., Any]


@pytest.fixture
def post_ingest() -> IngestPoster:
    """POST a body to legacy ingest with ``client``'s credentials, as gunicorn serves it: through
    the WSGI endpoint (``events/api/ingest_endpoint.py``), not the test client's DRF view."""

    def post(client: APIClient, body: Any, **extra: Any) -> Any:
        data = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else orjson.dumps(body)
        credentials = getattr(client, "_credentials", {})
        return wsgi.call("POST", "/api/v1/events/ingest", body=data, **credentials, **extra)

    return post


def stream_head_set(persona: Persona, kind: StreamKind, head: int) -> None:
    """Move an existing stream's counter to ``head`` by hand (a restore, an operator's mistake:
    what traffic alone cannot do), for tests of the counter's limits."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sequence_counters SET current_sequence = %s"
            " WHERE tenant_id = %s AND store_id = %s AND stream_kind = %s",
            [head, persona.tenant_id, persona.store_id, int(kind)],
        )
        assert cursor.rowcount == 1
