"""The ``ves`` CLI's partial appends, re-runs and tails against a live server (real PostgreSQL
and Redis): the server's own refusals are mapped back to file lines (ves/cli.py)."""

from __future__ import annotations

import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.tenants.factories import issue_key, make_tenant
from ves.cli import main as cli_main
from ves.client import AgentSigner, SequencerClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def stream(live_server: Any) -> tuple[list[str], str, str]:
    """(the CLI's --url/--api-key arguments, tenant id, store id) of a new tenant's stream."""
    tenant = make_tenant()
    key = issue_key(tenant, can_write=True, can_admin=True)
    return ["--url", live_server.url, "--api-key", key], str(tenant.id), str(uuid.uuid4())


def order(tenant_id: str, store_id: str, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "store_id": store_id,
        "entity_type": "order",
        "entity_id": f"ORD-{n}",
        "event_type": "order.created",
        "payload": {"n": n},
        **extra,
    }


def write_lines(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    out = io.StringIO()
    status = cli_main(argv, out=out)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, out.getvalue(), [line for line in err.splitlines() if line.startswith("ves")]


def test_a_batch_the_server_refuses_is_mapped_to_its_line(
    stream: tuple[list[str], str, str], tmp_path: Path, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    base, tenant_id, store_id = stream
    settings.MAX_EVENT_PAYLOAD_SIZE = 1_000
    events = [order(tenant_id, store_id, n) for n in range(150)]
    events[120]["payload"] = {"blob": "x" * 2_000}  # valid JSON, only the server's limit refuses it
    path = write_lines(tmp_path / "events.jsonl", events)

    status, _, said = run([*base, "append", str(path)], capsys)

    assert status == 1
    assert said[0].startswith("ves: 413 event_payload_too_large: events[20].payload is")
    assert said[1:3] == [
        f"ves: {path}:121: refused (events[20] of the batch of lines 101-150)",
        "ves: 100 events (lines 1-100) were appended before it; no line after 100 was sent",
    ]
    with SequencerClient(base[1], base[3]) as client:
        assert client.head(tenant_id, store_id) == 100


def test_re_runs_replay_only_lines_with_an_id_and_a_time(
    stream: tuple[list[str], str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, tenant_id, store_id = stream
    timed = order(tenant_id, store_id, 0, event_id=str(uuid.uuid4()), created_at="2026-01-01T00:00:00Z")
    untimed = order(tenant_id, store_id, 1, event_id=str(uuid.uuid4()))
    path = write_lines(tmp_path / "events.jsonl", [timed, untimed])
    assert run([*base, "append", str(path)], capsys)[0] == 0

    status, printed, said = run([*base, "append", str(path)], capsys)

    summary = json.loads(printed)
    assert (status, summary["accepted"], summary["replayed"], summary["rejected"]) == (3, 0, 1, 1)
    assert (summary["rejections"][0]["reason"], summary["rejections"][0]["line"]) == ("DuplicateEventId", 2)
    assert said == [
        f"ves: hint: {path}:2 has an event_id but no created_at, so each run sends a new created_at and a re-run "
        "is a different event with a used id, not a replay; give every line a created_at to make re-runs safe"
    ]


def test_signed_re_runs_name_the_ves_reason(
    stream: tuple[list[str], str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, tenant_id, store_id = stream
    key_file = tmp_path / "agent.json"
    assert run(["keygen", "--out", str(key_file)], capsys)[0] == 0
    assert run([*base, "register-key", "--key", str(key_file), "--tenant", tenant_id], capsys)[0] == 0
    line = {
        "event_id": str(uuid.uuid4()),
        "entity_type": "order",
        "entity_id": "A",
        "event_type": "paid",
        "payload": {},
    }
    path = write_lines(tmp_path / "events.jsonl", [line])
    sign = [*base, "append", str(path), "--sign", str(key_file), "--tenant", tenant_id, "--store", store_id]
    assert run(sign, capsys)[0] == 0

    status, printed, said = run(sign, capsys)

    assert (status, json.loads(printed)["rejections"][0]["reason"]) == (3, "duplicate_event_id")
    assert said[0].startswith(f"ves: hint: {path}:1 has an event_id but no created_at")


def test_tail_once_from_zero_crosses_a_page_boundary_once(
    stream: tuple[list[str], str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base, tenant_id, store_id = stream
    signer = AgentSigner.generate()
    with SequencerClient(base[1], base[3]) as client:
        client.register_signing_key(tenant_id, signer.agent_id, signer.key_id, signer.public_key)
        for start in range(0, 503, 250):
            batch = [order(tenant_id, store_id, n) for n in range(start, min(start + 250, 503))]
            client.append(batch)
            client.append_signed(signer, tenant_id, store_id, batch)

    for kind in ([], ["--ves"]):
        status, printed, _ = run(
            [*base, "tail", "--tenant", tenant_id, "--store", store_id, "--once", "--from", "0", *kind], capsys
        )
        events = [json.loads(line) for line in printed.splitlines()]
        numbers = [e["sequence_number"] if kind else e["envelope"]["sequence_number"] for e in events]
        assert (status, numbers) == (0, list(range(1, 504)))
