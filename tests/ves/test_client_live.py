"""The ves SDK and CLI end to end against a live server (real PostgreSQL and Redis)."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.tenants.factories import issue_key, make_tenant
from ves.cli import main as cli_main
from ves.client import (
    AgentSigner,
    AsyncSequencerClient,
    AuthenticationError,
    BadRequestError,
    PermissionDeniedError,
    SequencerClient,
    TransportError,
)
from ves.hpke import derive_key_pair

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def order(tenant_id: uuid.UUID, store_id: uuid.UUID, n: int = 0) -> dict[str, Any]:
    return {
        "tenant_id": str(tenant_id),
        "store_id": str(store_id),
        "entity_type": "order",
        "entity_id": f"order-{n}",
        "event_type": "order.created",
        "payload": {"n": n, "total": 42.5},
    }


@pytest.fixture
def stream(live_server: Any) -> tuple[str, str, uuid.UUID, uuid.UUID]:
    """(server URL, admin key of a new tenant, tenant id, store id)."""
    tenant = make_tenant()
    return live_server.url, issue_key(tenant, can_write=True, can_admin=True), tenant.id, uuid.uuid4()


def test_a_registered_agent_appends_reads_and_manages_its_keys(live_server: Any, settings: Any) -> None:
    settings.PUBLIC_AGENT_REGISTRATION_ENABLED = True
    settings.AGENT_REGISTRATION_RATE_LIMIT = 100_000
    with SequencerClient(live_server.url) as anonymous:
        registered = anonymous.register_agent("sdk-agent", description="end to end")
    tenant_id, agent_id, store_id = registered["tenantId"], registered["agentId"], uuid.uuid4()

    with SequencerClient(live_server.url, registered["apiKey"]) as client:
        result = client.append([order(tenant_id, store_id, n) for n in range(3)], agent_id=agent_id)
        assert result["events_accepted"] == 3
        assert client.head(tenant_id, store_id) == 3
        assert [e["envelope"]["entity_id"] for e in client.events(tenant_id, store_id)] == [
            "order-0", "order-1", "order-2"
        ]  # fmt: skip
        assert client.entity_history(tenant_id, store_id, "order", "order-1")["count"] == 1
        assert [e["envelope"]["sequence_number"] for e in client.tail(tenant_id, store_id, stop=_after(1))] == [1, 2, 3]
        assert client.agent(agent_id)["tenantId"] == tenant_id

        minted = client.create_api_key(agent_id, read_only=True)
        assert {k["keyHashPrefix"] for k in client.list_api_keys(agent_id)} >= {minted["keyHashPrefix"]}
        with SequencerClient(live_server.url, minted["apiKey"]) as reader:
            assert reader.head(tenant_id, store_id) == 3
            client.revoke_api_key(agent_id, minted["keyHashPrefix"])
            with pytest.raises(AuthenticationError) as revoked:
                reader.head(tenant_id, store_id)
        assert revoked.value.code == "invalid_api_key"
        assert revoked.value.status == 401


def _after(polls: int) -> Any:
    count = {"n": 0}

    def stop() -> bool:
        count["n"] += 1
        return count["n"] > polls

    return stop


def test_errors_are_typed_and_carry_the_problem_code(stream: tuple[str, str, uuid.UUID, uuid.UUID]) -> None:
    url, key, tenant_id, store_id = stream
    reader = issue_key(make_tenant())

    with SequencerClient(url, key) as client:
        with pytest.raises(BadRequestError) as bad:
            client.append([{"tenant_id": str(tenant_id)}])
        assert (bad.value.status, bad.value.code) == (422, "invalid_request")
    with SequencerClient(url, reader) as other:
        with pytest.raises(PermissionDeniedError) as denied:
            other.head(tenant_id, store_id)
        assert denied.value.code == "tenant_access_denied"


class LoseFirstResponse(httpx.BaseTransport):
    """Delivers every request, but the first response is 'lost' as a read timeout."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.sent.append(request.content)
        if len(self.sent) == 1:
            raise httpx.ReadTimeout("response lost", request=request)
        return response


def test_a_retry_after_a_timeout_never_duplicates(stream: tuple[str, str, uuid.UUID, uuid.UUID]) -> None:
    url, key, tenant_id, store_id = stream
    transport = LoseFirstResponse()

    with SequencerClient(url, key, transport=transport, backoff=0.01) as client:
        result = client.append([order(tenant_id, store_id, n) for n in range(5)])
        head = client.head(tenant_id, store_id)

    assert transport.sent[0] == transport.sent[1]  # the same bytes, same event ids
    assert head == 5
    assert result["events_accepted"] == 0
    assert [r["replayed"] for r in result["receipts"]] == [True] * 5


def test_an_unreachable_server_is_a_transport_error_after_the_retries() -> None:
    with SequencerClient("http://127.0.0.1:9", "ss_x", retries=2, backoff=0.01, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(TransportError, match="after 3 attempts"):
            client.head(uuid.uuid4(), uuid.uuid4())
    assert time.monotonic() - started < 10


def test_signed_and_encrypted_appends(stream: tuple[str, str, uuid.UUID, uuid.UUID]) -> None:
    url, key, tenant_id, store_id = stream
    signer = AgentSigner.generate()
    _, recipient_public = derive_key_pair(b"recipient")
    event = {"entity_type": "order", "entity_id": "o-1", "event_type": "order.created", "payload": {"a": 1}}

    with SequencerClient(url, key) as client:
        client.register_signing_key(tenant_id, signer.agent_id, signer.key_id, signer.public_key)
        plain = client.append_signed(signer, tenant_id, store_id, [event])
        sealed = client.append_signed(signer, tenant_id, store_id, [event], recipients=[(7, recipient_public)])
        stored = client.events(tenant_id, store_id, ves=True)

    assert (plain["eventsAccepted"], sealed["eventsAccepted"]) == (1, 1)
    assert [e["envelope"]["payload_kind"] for e in stored] == [0, 1]
    assert "payload_encrypted" in stored[1]["envelope"]


def test_the_batcher_flushes_at_a_size_and_after_a_delay(stream: tuple[str, str, uuid.UUID, uuid.UUID]) -> None:
    url, key, tenant_id, store_id = stream
    with SequencerClient(url, key) as client:
        with client.batcher(max_events=10, max_delay=0.3) as batcher:
            for n in range(25):
                batcher.add(order(tenant_id, store_id, n))
            assert [r["events_accepted"] for r in batcher.results] == [10, 10]
            deadline = time.monotonic() + 10
            while len(batcher.results) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert [r["events_accepted"] for r in batcher.results] == [10, 10, 5]  # the timer sent the rest
        assert client.head(tenant_id, store_id) == 25


def test_the_async_client(stream: tuple[str, str, uuid.UUID, uuid.UUID]) -> None:
    url, key, tenant_id, store_id = stream

    async def run() -> tuple[int, int]:
        async with AsyncSequencerClient(url, key) as client:
            results = await asyncio.gather(*(client.append([order(tenant_id, store_id, n)]) for n in range(4)))
            return sum(r["events_accepted"] for r in results), await client.head(tenant_id, store_id)

    assert asyncio.run(run()) == (4, 4)


def test_the_cli_keygen_register_append_and_tail(stream: tuple[str, str, uuid.UUID, uuid.UUID], tmp_path: Path) -> None:
    url, key, tenant_id, store_id = stream
    base = ["--url", url, "--api-key", key]
    key_file = tmp_path / "agent.json"
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(order(tenant_id, store_id, n)) for n in range(7)) + "\n")

    assert cli_main(["keygen", "--out", str(key_file)], out=io.StringIO()) == 0
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert cli_main([*base, "register-key", "--key", str(key_file), "--tenant", str(tenant_id)], out=io.StringIO()) == 0
    appended = io.StringIO()
    assert cli_main([*base, "append", str(events), "--batch-size", "3"], out=appended) == 0
    assert json.loads(appended.getvalue())["accepted"] == 7
    signed = io.StringIO()
    args = [*base, "append", str(events), "--sign", str(key_file), "--tenant", str(tenant_id), "--store", str(store_id)]
    assert cli_main(args, out=signed) == 0
    assert json.loads(signed.getvalue())["accepted"] == 7
    tailed = io.StringIO()
    assert cli_main([*base, "tail", "--tenant", str(tenant_id), "--store", str(store_id), "--once"], out=tailed) == 0
    assert [json.loads(line)["envelope"]["sequence_number"] for line in tailed.getvalue().splitlines()] == list(
        range(1, 8)
    )


def test_the_cli_reports_problem_codes(stream: tuple[str, str, uuid.UUID, uuid.UUID], capsys: Any) -> None:
    url, _, tenant_id, store_id = stream

    status = cli_main(
        ["--url", url, "--api-key", "ss_nope", "tail", "--tenant", str(tenant_id), "--store", str(store_id), "--once"]
    )

    assert status == 1
    assert "401 invalid_api_key" in capsys.readouterr().err
