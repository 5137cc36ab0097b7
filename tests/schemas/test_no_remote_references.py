"""No schema ever makes the server fetch a URL (``docs/schemas.md``, "Local references only").

A local HTTP listener stands in for an internal service: it answers every GET with a document
holding a secret. Registration, validation, compatibility checks and validation at ingest (legacy
and VES, ``enforce``) must send it nothing. A reference that leaves the schema, or a ``$schema``
naming no bundled draft, is refused at registration (400 ``invalid_schema``); a version stored
before that rule (written through the model) fails closed on the payloads that reach it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from django.db import connection

from schemas.models import EventSchema
from tests.conftest import IngestPoster, Persona, legacy_event
from tests.events.ves_helpers import Agent, post_ves, register_key
from tests.schemas.helpers import ORDER_SCHEMA, post_json, register, set_mode

pytestmark = pytest.mark.django_db

SECRET = "INTERNAL-SECRET-123"


class Listener:
    """An HTTP server on 127.0.0.1 recording the path of every request it receives."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                body = orjson.dumps({"const": SECRET})
                self.send_response(200)
                self.send_header("Content-Type", "application/schema+json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture
def agent(owner: Persona) -> Agent:
    agent = Agent(owner.tenant_id, owner.store_id)
    assert register_key(owner.client, owner.tenant_id, agent.agent_id, 1, agent.public_key).status_code == 200
    return agent


def _validate(persona: Persona, event_type: str, payload: Any, **extra: Any) -> Any:
    body = {"tenantId": str(persona.tenant_id), "eventType": event_type, "payload": payload, **extra}
    return post_json(persona.client, "/api/v1/schemas/validate", body)


def _store_directly(persona: Persona, event_type: str, schema: Any, version: int = 1) -> EventSchema:
    """A version as one registered before remote references were refused would be stored."""
    return EventSchema.objects.create(
        tenant_id=persona.tenant_id, event_type=event_type, version=version, schema_json=schema, compatibility="none"
    )


def _logged_reasons(persona: Persona) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reason FROM rejected_events WHERE tenant_id = %s ORDER BY rejection_id", [persona.tenant_id]
        )
        return [row[0] for row in cursor.fetchall()]


Remote = Callable[[str], Any]
LEAVING: list[tuple[str, Remote, str]] = [
    ("top-level $ref", lambda url: {"$ref": f"{url}/s.json"}, "/s.json"),
    ("nested $ref", lambda url: {"type": "object", "properties": {"a": {"$ref": f"{url}/a.json"}}}, "/a.json"),
    ("$ref in $defs", lambda url: {"$defs": {"x": {"$ref": f"{url}/x.json"}}, "type": "object"}, "/x.json"),
    ("$dynamicRef", lambda url: {"properties": {"a": {"$dynamicRef": f"{url}/d.json#meta"}}}, "/d.json#meta"),
    (
        "$id with a remote base and a relative $ref",
        lambda url: {"$id": f"{url}/root.json", "properties": {"a": {"$ref": "other.json"}}},
        "other.json",
    ),
    (
        "a pointer to a subschema under an unknown keyword that leaves",
        lambda url: {"properties": {"a": {"$ref": "#/x"}}, "x": {"$ref": f"{url}/hidden.json"}},
        "/hidden.json",
    ),
    (
        "draft-07 $ref",
        lambda url: {"$schema": "http://json-schema.org/draft-07/schema#", "items": {"$ref": f"{url}/i.json"}},
        "/i.json",
    ),
    (
        "draft-04 id with a remote base and a relative $ref",
        lambda url: {
            "$schema": "http://json-schema.org/draft-04/schema#",
            "id": f"{url}/r.json",
            "properties": {"a": {"$ref": "b.json"}},
        },
        "b.json",
    ),
    (
        "2019-09 $ref",
        lambda url: {"$schema": "https://json-schema.org/draft/2019-09/schema", "anyOf": [{"$ref": f"{url}/r"}]},
        "/r",
    ),
    ("a bundled metaschema", lambda url: {"$ref": "https://json-schema.org/draft/2020-12/schema"}, "2020-12"),
    ("$schema naming a URL", lambda url: {"$schema": f"{url}/meta.json", "type": "object"}, "/meta.json"),
]


@pytest.mark.parametrize(("schema", "quoted"), [(s, q) for _, s, q in LEAVING], ids=[name for name, _, _ in LEAVING])
def test_a_reference_that_leaves_the_schema_is_refused_at_registration_without_a_fetch(
    owner: Persona, listener: Listener, schema: Remote, quoted: str
) -> None:
    response = register(
        owner.client, owner.tenant_id, schema(listener.url), event_type="aud.leak", compatibility="none"
    )

    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["code"], body["field"]) == ("invalid_schema", "schemaJson")
    assert quoted in body["detail"]
    assert "never fetched" in body["detail"]
    assert listener.paths == []
    assert not EventSchema.objects.filter(tenant_id=owner.tenant_id).exists()


def test_local_references_are_accepted_and_followed_without_a_fetch(owner: Persona, listener: Listener) -> None:
    schema = {
        "$id": f"{listener.url}/root.json",  # a remote base: references resolve against it, inside the schema
        "type": "object",
        "properties": {
            "total": {"$ref": "#/$defs/amount"},
            "currency": {"$ref": "#code"},
            "sku": {"$ref": "sku.json"},  # the embedded resource below, by its $id
        },
        "$defs": {
            "amount": {"type": "integer", "minimum": 0},
            "code": {"$anchor": "code", "type": "string", "maxLength": 3},
            "sku": {"$id": "sku.json", "type": "string", "pattern": "^[A-Z]"},
        },
    }

    registered = register(owner.client, owner.tenant_id, schema, event_type="local.refs")
    good = _validate(owner, "local.refs", {"total": 3, "currency": "USD", "sku": "A1"})
    bad = _validate(owner, "local.refs", {"total": -1, "currency": "EURO", "sku": "a1"})

    assert registered.status_code == 200, registered.content
    assert good.json()["valid"] is True, good.content
    assert [e["path"] for e in bad.json()["errors"]] == ["/currency", "/sku", "/total"]
    assert listener.paths == []


@pytest.mark.parametrize("compatibility", ["backward", "forward", "full", "none"])
def test_a_remote_reference_in_a_new_version_is_refused_before_any_compatibility_check(
    owner: Persona, listener: Listener, compatibility: str
) -> None:
    assert register(owner.client, owner.tenant_id, event_type="aud.leak").status_code == 200
    remote = {**ORDER_SCHEMA, "properties": {"total": {"$ref": f"{listener.url}/s.json"}}}

    response = register(owner.client, owner.tenant_id, remote, event_type="aud.leak", compatibility=compatibility)

    assert (response.status_code, response.json()["code"]) == (400, "invalid_schema"), response.content
    assert listener.paths == []


def test_a_stored_version_with_a_remote_reference_is_compared_without_a_fetch(
    owner: Persona, listener: Listener
) -> None:
    _store_directly(owner, "aud.leak", {"$ref": f"{listener.url}/s.json"})

    backward = register(owner.client, owner.tenant_id, {"type": "object"}, event_type="aud.leak")
    none = register(owner.client, owner.tenant_id, {"type": "object"}, event_type="aud.leak", compatibility="none")

    assert (backward.status_code, backward.json()["code"]) == (409, "incompatible_schema"), backward.content
    assert none.json()["version"] == 2
    assert listener.paths == []


def test_a_stored_schema_with_a_remote_reference_fails_closed_on_validate(owner: Persona, listener: Listener) -> None:
    _store_directly(owner, "aud.leak", {"$ref": f"{listener.url}/s.json"})
    _store_directly(owner, "aud.nested", {"type": "object", "properties": {"a": {"$ref": f"{listener.url}/a.json"}}})

    latest = _validate(owner, "aud.leak", SECRET)
    pinned = _validate(owner, "aud.leak", "anything", schemaVersion=1)
    reached = _validate(owner, "aud.nested", {"a": 1})
    not_reached = _validate(owner, "aud.nested", {"b": 1})

    for response in (latest, pinned, reached):
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["valid"] is False
        [error] = body["errors"]
        assert error["path"] == ""
        assert "resolves nowhere" in error["message"]
        assert "nothing is fetched" in error["message"]
        assert SECRET not in response.content.decode()
    assert not_reached.json()["valid"] is True
    assert listener.paths == []


def test_a_stored_schema_naming_a_metaschema_url_validates_with_the_latest_draft_without_a_fetch(
    owner: Persona, listener: Listener
) -> None:
    _store_directly(owner, "meta.url", {"$schema": f"{listener.url}/meta.json", "type": "integer"})

    assert _validate(owner, "meta.url", 1).json()["valid"] is True
    assert _validate(owner, "meta.url", "one").json()["errors"] == [
        {"path": "", "message": '"one" is not of type "integer"'}
    ]
    assert listener.paths == []


def test_a_stored_schema_with_a_remote_reference_rejects_legacy_and_ves_events_without_a_fetch(
    owner: Persona, agent: Agent, listener: Listener, post_ingest: IngestPoster
) -> None:
    _store_directly(owner, "order.created", {"type": "object", "properties": {"a": {"$ref": f"{listener.url}/a.json"}}})
    set_mode(owner.client, owner.tenant_id, "enforce")

    legacy = post_ingest(
        owner.client,
        {
            "events": [
                legacy_event(owner.tenant_id, owner.store_id, payload={"a": 1}),
                legacy_event(owner.tenant_id, owner.store_id, payload={"b": 1}),
            ]
        },
    )
    ves = post_ves(owner.client, agent.agent_id, [agent.event({"a": 1}), agent.event({"b": 1})])

    assert legacy.status_code == 200, legacy.content
    assert legacy.json()["events_accepted"] == 1
    [rejection] = legacy.json()["rejections"]
    assert rejection["reason"] == "SchemaValidation"
    assert "resolves nowhere" in rejection["message"]
    assert ves.status_code == 200, ves.content
    assert ves.json()["eventsAccepted"] == 1
    [ves_rejection] = ves.json()["rejections"]
    assert ves_rejection["reason"].startswith("schema_validation: : a reference resolves nowhere")
    logged = _logged_reasons(owner)  # reasons are stored cut to the column's width
    assert logged[0] == "SchemaValidation"
    assert logged[1].startswith("schema_validation: : a reference resolves nowhere")
    assert len(logged) == 2
    assert SECRET not in legacy.content.decode() + ves.content.decode()
    assert listener.paths == []
