"""Secrets stay secret: not in logs (every logger at DEBUG, SQL included), error bodies, admin
pages or database rows; keys are found by their SHA-256 digest and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import jwt
import orjson
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from sequencer_project.api import authentication
from sequencer_project.logs import JsonFormatter
from tenants.credentials import api_key_hash
from tenants.models import ApiKey
from tenants.services import api_key_revoke
from tests.conftest import Persona, api_client
from tests.events.ves_helpers import Agent, register_key
from tests.reliability.world import CHAIN_SETTINGS
from tests.tenants.factories import issue_key

pytestmark = pytest.mark.django_db

JWT_SECRET = "jwt-secret-" + "q" * 32
PAYLOAD_KEY = "1:" + "5a" * 32
SECRET_SETTINGS = {
    **CHAIN_SETTINGS,
    "JWT_SECRET": JWT_SECRET,
    "PAYLOAD_ENCRYPTION_KEYS": PAYLOAD_KEY,
    "X402_SETTLEMENT_PRIVATE_KEY": "0x" + "7c" * 32,
}


def configured_secrets() -> list[str]:
    """Every secret value of the running configuration (the strings that must never leak)."""
    values = [
        settings.SECRET_KEY,
        settings.BOOTSTRAP_ADMIN_API_KEY,
        settings.JWT_SECRET,
        settings.VES_SEQUENCER_SIGNING_KEY,
        settings.ANCHOR_PRIVATE_KEY,
        settings.ANCHOR_PRIVATE_KEY.removeprefix("0x"),
        settings.PAYLOAD_ENCRYPTION_KEYS.partition(":")[2],
        settings.X402_SETTLEMENT_PRIVATE_KEY,
        settings.X402_SETTLEMENT_PRIVATE_KEY.removeprefix("0x"),
    ]
    return [v for v in values if v]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.plain = logging.Formatter("%(name)s %(levelname)s %(message)s")
        self.json = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.plain.format(record))
        self.lines.append(self.json.format(record))
        self.lines.append(repr(record.__dict__))


@contextmanager
def every_log_line() -> Iterator[list[str]]:
    """What ``LOG_LEVEL=DEBUG`` logs, plus every SQL statement, as formatted lines.

    The root logger goes to DEBUG as the setting does; loggers the project configures keep
    their level, every other logger inherits DEBUG. The handler also sits on loggers that do
    not propagate.
    """
    handler = _Collect()
    root, sql = logging.getLogger(), logging.getLogger("django.db.backends")
    saved = (root.level, sql.level, logging.root.manager.disable)
    logging.disable(logging.NOTSET)
    root.setLevel(logging.DEBUG)
    sql.setLevel(logging.DEBUG)
    root.addHandler(handler)
    isolated = [
        lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger) and not lg.propagate
    ]
    for lg in isolated:
        lg.addHandler(handler)
    connection.force_debug_cursor = True
    try:
        yield handler.lines
    finally:
        connection.force_debug_cursor = False
        root.setLevel(saved[0])
        sql.setLevel(saved[1])
        logging.disable(saved[2])
        root.removeHandler(handler)
        for lg in isolated:
            lg.removeHandler(handler)


def assert_absent(secrets: list[str], texts: list[str], where: str) -> None:
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"a secret appears in {where}: {text[:200]}"


# Other tests of the same process register agents from the same address within the minute:
# this one is about logs, not the registration limit.
@override_settings(**SECRET_SETTINGS, PUBLIC_AGENT_REGISTRATION_ENABLED=True, AGENT_REGISTRATION_RATE_LIMIT=1_000_000)
def test_key_creation_logs_no_secret(owner: Persona, staff_client: Client) -> None:
    agent = uuid.uuid4()
    with every_log_line() as lines:
        minted = [issue_key(owner.tenant, can_write=True), issue_key(owner.tenant, agent_id=agent)]
        out = io.StringIO()
        call_command("create_api_key", "--tenant", str(owner.tenant_id), "--permissions", "read", stdout=out)
        minted.append(re.findall(r"ss_[A-Za-z0-9_-]{40}", out.getvalue())[0])
        response = owner.client.post(
            f"/api/v1/agents/{agent}/api-keys",
            data=orjson.dumps({"permissions": "read"}),
            content_type="application/json",
        )
        minted.append(response.json()["apiKey"])
        registered = api_client().post(
            "/api/v1/agents/register", data=orjson.dumps({"name": "logger"}), content_type="application/json"
        )
        assert registered.status_code == 200, registered.content
        minted.append(registered.json()["apiKey"])
        admin_add = staff_client.post(
            "/admin/tenants/apikey/add/",
            {"tenant": str(owner.tenant_id), "name": "ops", "can_read": "on"},
            follow=True,
        )
        minted += [k for k in re.findall(r"ss_[A-Za-z0-9_-]{40}", admin_add.content.decode()) if k not in minted]

    assert len(minted) >= 5
    assert any("api_keys" in line for line in lines), "the SQL was not captured: the capture is broken"
    assert_absent([*minted, owner.key, *configured_secrets()], lines, "logs of key creation")
    assert response["Cache-Control"] == "no-store"


@override_settings(**SECRET_SETTINGS)
def test_authentication_failures_log_and_answer_no_secret(
    owner: Persona, django_capture_on_commit_callbacks: Any
) -> None:
    revoked = issue_key(owner.tenant, can_write=True)
    with django_capture_on_commit_callbacks(execute=True):
        api_key_revoke(api_key=ApiKey.objects.get(key_hash=api_key_hash(revoked)), actor="test")
    bad_jwt = jwt.encode({"sub": str(owner.tenant_id)}, JWT_SECRET + "x", algorithm="HS256")
    expired = jwt.encode(
        {"sub": str(owner.tenant_id), "exp": 1, "iat": 0, "iss": settings.JWT_ISSUER, "aud": settings.JWT_AUDIENCE},
        JWT_SECRET,
        algorithm="HS256",
    )
    head = f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}"
    presented = {
        "Authorization": [
            f"ApiKey {owner.key}x",
            f"ApiKey {revoked}",
            f"Bearer {owner.key[:-1]}",
            f"ApiKey {settings.BOOTSTRAP_ADMIN_API_KEY}x",
            f"Bearer {bad_jwt}",
            f"Bearer {expired}",
            f"Basic {owner.key}",
            owner.key.removeprefix("ss_"),
        ],
        "X-API-Key": [f"{owner.key}x", revoked],
    }
    with every_log_line() as lines:
        responses = [
            Client().get(head, headers={header: value}) for header, values in presented.items() for value in values
        ]

    assert [r.status_code for r in responses] == [401] * len(responses)
    bodies = [r.content.decode() for r in responses]
    sent = [owner.key, revoked, bad_jwt, expired, owner.key[:-1], owner.key.removeprefix("ss_")]
    assert_absent(sent + configured_secrets(), bodies, "401 bodies")
    assert_absent(sent + configured_secrets(), lines, "logs of failed authentication")


@override_settings(**SECRET_SETTINGS)
def test_a_server_error_logs_and_answers_no_secret(owner: Persona, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(**_: Any) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr("events.api.head.stream_head_get", explode)
    client = Client(raise_request_exception=False)
    with every_log_line() as lines:
        response = client.get(
            f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}",
            HTTP_AUTHORIZATION=f"ApiKey {owner.key}",
            HTTP_X_API_KEY=settings.BOOTSTRAP_ADMIN_API_KEY,
        )
        malformed = owner.client.post(
            "/api/v1/events/ingest", data=b"{" + owner.key.encode(), content_type="application/json"
        )

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert any("boom" in line for line in lines), "the error was not logged"
    assert malformed.status_code == 400
    assert_absent([owner.key, *configured_secrets()], [response.content.decode(), malformed.content.decode()], "bodies")
    assert_absent([owner.key, *configured_secrets()], lines, "logs of a server error")


def _admin_pages(staff_client: Client, changelists: list[str]) -> list[str]:
    """The change lists and every change page they link to."""
    pages = []
    for changelist in changelists:
        page = staff_client.get(changelist)
        assert page.status_code == 200, changelist
        html = page.content.decode()
        pages.append(html)
        for link in sorted(set(re.findall(rf'href="({re.escape(changelist)}[^"?#]+/change/)"', html))):
            detail = staff_client.get(link.replace("&amp;", "&"))
            assert detail.status_code == 200, link
            pages.append(detail.content.decode())
    return pages


@override_settings(**SECRET_SETTINGS)
def test_admin_pages_of_keys_tenants_and_agents_show_no_secret(owner: Persona, staff_client: Client) -> None:
    agent = Agent(owner.tenant_id, owner.store_id)
    assert register_key(owner.client, owner.tenant_id, agent.agent_id, 1, agent.public_key).status_code == 200
    agent_key = issue_key(owner.tenant, can_write=True, agent_id=agent.agent_id)

    pages = _admin_pages(staff_client, ["/admin/tenants/apikey/", "/admin/tenants/tenant/"])
    for extra in (f"/admin/event-store/agent-keys/?tenant_id={owner.tenant_id}", "/admin/"):
        page = staff_client.get(extra)
        assert page.status_code == 200, extra
        pages.append(page.content.decode())

    assert len(pages) >= 6, "the change pages were not reached"
    assert any(agent.public_key.hex() in page for page in pages), "the agent keys page lists the public key"
    assert any(agent_key[:12] in page for page in pages), "keys are listed by their display prefix"
    assert_absent([owner.key, agent_key, *configured_secrets()], pages, "admin pages")


def test_api_keys_are_stored_only_as_their_sha256(owner: Persona, member: Persona) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT key_hash, display_prefix, t::text FROM api_keys t WHERE tenant_id = %s", [owner.tenant_id]
        )
        rows = cursor.fetchall()
        cursor.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        )
        tables = [row[0] for row in cursor.fetchall()]
        holders = []
        for table in tables:
            for key in (owner.key, member.key):
                cursor.execute(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE %s', [f"%{key[3:]}%"])  # noqa: S608
                if cursor.fetchone()[0]:
                    holders.append(table)

    assert sorted(r[0] for r in rows) == sorted(hashlib.sha256(k.encode()).hexdigest() for k in (owner.key, member.key))
    assert {len(r[1]) for r in rows} == {12}
    assert holders == [], f"a table holds a plaintext key: {holders}"
    assert len(tables) > 10


def test_stored_keys_are_looked_up_by_digest_and_never_sent_to_the_database(owner: Persona) -> None:
    client = api_client(owner.key)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/api/v1/head?tenant_id={owner.tenant_id}&store_id={owner.store_id}").status_code == 200

    lookups = [q["sql"] for q in queries.captured_queries if "api_keys" in q["sql"]]
    assert lookups, "the key was not looked up"
    assert any(api_key_hash(owner.key) in sql and "key_hash" in sql for sql in lookups)
    assert all(owner.key not in q["sql"] and owner.key[3:] not in q["sql"] for q in queries.captured_queries)


def test_the_bootstrap_key_is_compared_in_constant_time_on_digests(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, Any]] = []
    real: Callable[[Any, Any], bool] = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)  # authentication calls hmac.compare_digest
    bootstrap = settings.BOOTSTRAP_ADMIN_API_KEY

    assert authentication.principal_for_api_key(bootstrap).is_superadmin
    with pytest.raises(Exception, match="Unknown or revoked"):
        authentication.principal_for_api_key("ss_" + "x" * 40)

    assert len(calls) == 2
    for a, b in calls:
        assert isinstance(a, bytes)
        assert isinstance(b, bytes)
        assert len(a) == len(b) == 32  # SHA-256 digests: equal lengths, no early exit on length
    assert calls[0][1] == hashlib.sha256(bootstrap.encode()).digest()
