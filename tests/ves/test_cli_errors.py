"""The ``ves`` CLI on bad input and failing servers: one ``ves: …`` line and an exit status, never a
traceback (ves/cli.py's docstring). The server is a real HTTP server on 127.0.0.1 (the standard
library's) whose answers each test scripts, so no sequencer and no Django are needed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import ves
from tests.ves.http_server import serving
from ves.cli import EXIT_BROKEN_PIPE
from ves.cli import main as cli_main
from ves.cli_checkpoint import _replace
from ves.client import AgentSigner, ApiError

TENANT = "00000000-0000-0000-0000-000000000001"
STORE = "5603af72-63ef-4a9f-8dc0-79eee7a524f7"
OTHER_STORE = "8a34ae61-3204-4989-ac1b-693ff64ec40c"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any


Answer = tuple[int, str, bytes]  # status, content type, body


def problem(status: int, code: str, detail: str, **extra: Any) -> Answer:
    body = {"type": f"https://errors.test/{code}", "title": code, "status": status, "code": code, "detail": detail}
    return status, "application/problem+json", json.dumps({**body, **extra}).encode()


def ok(body: Any) -> Answer:
    return 200, "application/json", json.dumps(body).encode()


@dataclass
class FakeServer:
    """Records every request and answers it with ``respond(request)``."""

    url: str = ""
    requests: list[Request] = field(default_factory=list)
    respond: Callable[[Request], Answer | None] = lambda request: ok({})  # None: hang up without an answer


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Request(
                self.command,
                parts.path,
                {k: v[0] for k, v in parse_qs(parts.query).items()},
                json.loads(raw) if raw else None,
            )
            fake.requests.append(request)
            answer = fake.respond(request)
            if answer is None:
                self.close_connection = True
                return
            status, content_type, body = answer
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: Any) -> None:
            pass

    with serving(Handler) as fake.url:
        yield fake


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, list[str]]:
    """Exit status, stdout, and the ``ves:`` lines of stderr (progress lines left out)."""
    out = io.StringIO()
    try:
        status = cli_main(argv, out=out)
    except SystemExit as exc:  # argparse: usage errors
        status = int(exc.code or 0)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, out.getvalue(), [line for line in err.splitlines() if line.startswith("ves")]


def order(n: int, store: str = STORE, **extra: Any) -> dict[str, Any]:
    return {
        "tenant_id": TENANT,
        "store_id": store,
        "entity_type": "order",
        "entity_id": f"ORD-{n}",
        "event_type": "order.created",
        "payload": {"n": n},
        **extra,
    }


def write_lines(path: Path, events: list[Any]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(AgentSigner.generate(key_id=3).to_json()))
    return path


# --- usage errors: exit 2 with a message --------------------------------------------------------

STREAM = ["--tenant", TENANT, "--store", STORE]
USABLE_KEY = "3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"  # the public key of seed 0^32
# Trusted sequencer keys no seed gives, and why each is refused.
UNUSABLE_KEYS = [
    ("00" * 32, "a point of small order, which would verify signatures nobody made"),
    ("01" + "00" * 31, "a point of small order, which would verify signatures nobody made"),  # the identity
    ("ab" * 32, "not a point of the curve"),
    ("ff" * 32, "not canonical (its y coordinate is not below 2^255 - 19)"),
]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["register-key", "--key", "k.json", "--tenant", "not-a-uuid"],
            "argument --tenant: 'not-a-uuid' is not a UUID",
        ),
        (["tail", "--tenant", TENANT, "--store", "nope"], "argument --store: 'nope' is not a UUID"),
        (["keygen", "--agent", "notauuid"], "argument --agent: 'notauuid' is not a UUID"),
        (["keygen", "--key-id", "-1"], "argument --key-id: must be from 0 to 4294967295, got -1"),
        (["keygen", "--key-id", str(2**32)], "argument --key-id: must be from 0 to 4294967295, got 4294967296"),
        (["bundle", "not-an-id"], "argument event_id: 'not-an-id' is not a UUID"),
        (["bundle", str(uuid.uuid4()), "--wait", "-1"], "argument --wait: -1 is not >= 0 seconds"),
        (["tail", *STREAM, "--interval", "-1"], "argument --interval: -1 is not > 0 seconds"),
        (["tail", *STREAM, "--interval", "nan"], "argument --interval: nan is not > 0 seconds"),
        (["tail", *STREAM, "--from", "-1"], "argument --from: must be at least 0, got -1"),
        (["--timeout", "-1", "tail", *STREAM], "argument --timeout: -1 is not > 0 seconds"),
        (
            ["--url", "localhost:8080", "tail", *STREAM],
            "argument --url: 'localhost:8080' is not an http:// or https:// URL",
        ),
        (["append", "f.jsonl", "--batch-size", "0"], "argument --batch-size: must be at least 1, got 0"),
        (
            ["checkpoint", *STREAM, "--sequencer-key", USABLE_KEY, "--size", "0"],
            "argument --size: must be at least 1, got 0",
        ),
        (["append", "f.jsonl", "--sign", "k.json"], "append --sign needs --tenant and --store"),
        (["append", "f.jsonl", "--tenant", TENANT], "--tenant and --store go with --sign"),
        (["verify", "b.json", "--sequencer-key", "cc12"], "the sequencer key must be 32 bytes, got 2"),
        (["verify", "b.json", "--sequencer-key", "zz" * 32], "is not hex"),
        *(
            ([command, *rest, "--sequencer-key", key], f"{key} is not a usable Ed25519 public key: {why}")
            for command, rest in (("verify", ["b.json"]), ("checkpoint", STREAM))
            for key, why in UNUSABLE_KEYS
        ),
    ],
)
def test_bad_arguments_are_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli_main(argv, out=io.StringIO())
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert message in err
    assert "Traceback" not in err


def test_an_unusable_sequencer_key_stops_verify_before_any_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A small-order key made every bundle fail ``receipt_signature`` (exit 1), the real cause
    showing only under ``log_checkpoint``; now it is the usage error, exit 2, one line saying why."""
    bundle = tmp_path / "b.json"
    bundle.write_text('{"format": "stateset-proof-bundle/1"}')
    for key, why in UNUSABLE_KEYS:
        out = io.StringIO()
        with pytest.raises(SystemExit) as exit_:
            cli_main(["verify", str(bundle), "--sequencer-key", USABLE_KEY, "--sequencer-key", key], out=out)
        errors = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
        assert (exit_.value.code, out.getvalue()) == (2, "")
        assert errors == [
            f"ves verify: error: argument --sequencer-key: {key} is not a usable Ed25519 public key: {why}"
        ]


# --- key files ----------------------------------------------------------------------------------


def _key(**changes: Any) -> str:
    data = AgentSigner.generate().to_json()
    data.update(changes)
    return json.dumps({k: v for k, v in data.items() if v is not ...})


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file or directory"),
        (b"garbage", "the key file is not JSON"),
        (b"\xff\xfe", "the key file is not UTF-8 text (byte 1)"),
        (b"[" * 100_000, "the key file nests too deeply to be read"),
        (b"[1, 2]", "not a key file (`ves keygen --out FILE` writes one)"),
        (b"{}", "not a key file: it has no 'agentId'"),
        (_key(seed=...).encode(), "not a key file: it has no 'seed'"),
        (_key(seed="abcd").encode(), "seed must be 64 hex digits"),
        (_key(keyId=-1).encode(), "keyId must be an integer in 0..4294967295"),
        (_key(keyId=99_999_999_999).encode(), "keyId must be an integer in 0..4294967295"),
        (_key(keyId=True).encode(), "keyId must be an integer"),
        (_key(agentId="agent-7").encode(), "agentId is not a UUID"),
        (_key(publicKey="00" * 32).encode(), "publicKey is not the public key of its seed"),
    ],
)
def test_a_bad_key_file_is_one_line_and_sends_nothing(
    content: bytes | None, message: str, server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "agent.json"
    if content is not None:
        path.write_bytes(content)
    events = write_lines(tmp_path / "events.jsonl", [order(1)])
    for argv in (
        ["register-key", "--key", str(path), "--tenant", TENANT],
        ["append", str(events), "--sign", str(path), *STREAM],
    ):
        status, _, said = run(["--url", server.url, *argv], capsys)
        assert (status, len(said)) == (1, 1), said
        assert said[0].startswith(f"ves: {path}"), said
        assert message in said[0], said
    assert server.requests == []


def test_keygen_never_overwrites_and_names_a_missing_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "agent.json"
    existing.write_text("keep")
    assert run(["keygen", "--out", str(existing)], capsys)[::2] == (
        1,
        [f"ves: {existing} already exists: a key file is never overwritten"],
    )
    assert existing.read_text() == "keep"
    missing = tmp_path / "no" / "agent.json"
    assert run(["keygen", "--out", str(missing)], capsys)[::2] == (1, [f"ves: {missing}: No such file or directory"])


def test_keygen_to_stdout_still_prints_the_key_and_points_at_out(capsys: pytest.CaptureFixture[str]) -> None:
    status, printed, said = run(["keygen", "--key-id", "4294967295"], capsys)
    assert status == 0
    assert json.loads(printed)["keyId"] == 2**32 - 1
    assert said == ["ves: the key, with its secret seed, went to stdout; --out FILE writes it with mode 0600"]


# --- append: the whole file is checked before anything is sent ---------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1}\n\xff\n', "events.jsonl:2: not UTF-8 text (byte 1 of the line)"),
        (b'{"a": 1}\nnot json\n', "events.jsonl:2: not JSON: "),
        (b'{"payload": NaN}\n', "events.jsonl:1: not JSON: "),
        (b"[1, 2]\n", "events.jsonl:1: each line must be a JSON object"),
        (b"[" * 100_000 + b"\n", "events.jsonl:1: nests too deeply to be read"),
    ],
)
def test_an_unreadable_line_is_named_and_nothing_is_sent(
    content: bytes, message: str, server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(content)
    status, _, said = run(["--url", server.url, "append", str(path)], capsys)
    assert status == 1
    assert [line for line in said if message in line], said
    assert said[-1].endswith("nothing was sent"), said
    assert server.requests == []


def test_an_unreadable_line_does_not_hide_the_problems_of_the_lines_after_it(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {k: v for k, v in order(3).items() if k != "entity_type"}
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                json.dumps(order(0)).encode(),
                b"not json",
                json.dumps(order(2)).encode(),
                json.dumps(bad).encode(),
                b"[1]",
                b"",
            ]
        )
    )

    status, _, said = run(["--url", server.url, "append", str(path)], capsys)

    assert status == 1
    assert said[0].startswith(f"ves: {path}:2: not JSON: "), said
    assert said[1:] == [
        f"ves: {path}:4: entity_type is required: a string of 1-128 characters",
        f"ves: {path}:5: each line must be a JSON object",
        "ves: 3 invalid lines: nothing was sent",
    ]
    assert server.requests == []


def test_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.jsonl"
    assert run(["append", str(missing)], capsys)[::2] == (1, [f"ves: {missing}: No such file or directory"])


def test_every_invalid_line_is_listed_before_anything_is_sent(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events: list[Any] = [order(n) for n in range(150)]
    events[120] = {k: v for k, v in order(120).items() if k != "entity_type"}
    events[130] = order(130, event_id="not-an-id", created_at="yesterday", base_version=-1)
    events[140] = order(140, entity_id="x" * 513, store_id="nope")
    path = write_lines(tmp_path / "events.jsonl", events)

    status, _, said = run(["--url", server.url, "append", str(path)], capsys)

    assert status == 1
    assert said == [
        f"ves: {path}:121: entity_type is required: a string of 1-128 characters",
        f"ves: {path}:131: event_id is not a UUID",
        f"ves: {path}:131: created_at is not an RFC 3339 date-time with an offset",
        f"ves: {path}:131: base_version is not an integer >= 0",
        f"ves: {path}:141: store_id is required: a UUID",
        f"ves: {path}:141: entity_id must be 1-512 characters, got 513",
        "ves: 3 invalid lines: nothing was sent",
    ]
    assert server.requests == []


def test_more_than_ten_problems_are_counted(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_lines(tmp_path / "events.jsonl", [{"payload": n} for n in range(4)])
    said = run(["--url", server.url, "append", str(path)], capsys)[2]
    assert said[-2:] == ["ves: … and 10 more problems", "ves: 4 invalid lines: nothing was sent"]


def test_signed_lines_are_checked_too_and_may_not_name_another_stream(
    server: FakeServer, key_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [
        {"entity_type": "order", "entity_id": "A", "event_type": "order.paid", "payload": {}},
        {"entity_type": "order", "event_type": "order.paid", "payload": {}},
        {**order(3, OTHER_STORE)},
        {"entity_type": "o" * 65, "entity_id": "\u00e9" * 300, "event_type": "e", "payload": None},
    ]
    path = write_lines(tmp_path / "events.jsonl", events)

    status, _, said = run(["--url", server.url, "append", str(path), "--sign", str(key_file), *STREAM], capsys)

    assert status == 1
    assert said == [
        f"ves: {path}:2: entity_id is required: a string of 1-512 bytes of UTF-8",
        f"ves: {path}:3: store_id {OTHER_STORE} is not the --store the events are signed for ({STORE})",
        f"ves: {path}:4: entity_id must be 1-512 bytes of UTF-8, got 600",
        f"ves: {path}:4: payload is required (not null)",
        "ves: 3 invalid lines: nothing was sent",
    ]
    assert server.requests == []


def test_a_signed_line_naming_its_own_stream_is_signed_for_it(
    server: FakeServer, key_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.respond = lambda request: ok({"eventsAccepted": 1, "eventsRejected": 0})
    path = write_lines(tmp_path / "events.jsonl", [order(1, tenant_id=TENANT.upper())])
    status, printed, _ = run(["--url", server.url, "append", str(path), "--sign", str(key_file), *STREAM], capsys)
    assert (status, json.loads(printed)["accepted"]) == (0, 1)
    (sent,) = server.requests[0].body["events"]
    assert (sent["tenant_id"], sent["store_id"], sent["agent_key_id"]) == (TENANT, STORE, 3)


# --- append: a batch the server refuses after others were appended -----------------------------


def test_a_refused_later_batch_names_its_line_and_what_was_appended(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def respond(request: Request) -> Answer:
        if len(server.requests) == 1:
            return ok({"events_accepted": len(request.body["events"]), "events_rejected": 0})
        errors = {"events[20].payload": ["too large"]}
        return problem(413, "event_payload_too_large", "events[20].payload is 2097163 bytes", errors=errors)

    server.respond = respond
    path = write_lines(tmp_path / "events.jsonl", [order(n) for n in range(150)])

    status, _, said = run(["--url", server.url, "append", str(path)], capsys)

    assert status == 1
    assert said == [
        "ves: 413 event_payload_too_large: events[20].payload is 2097163 bytes",
        f"ves: {path}:121: refused (events[20] of the batch of lines 101-150)",
        "ves: 100 events (lines 1-100) were appended before it; no line after 100 was sent",
        "ves: a re-run of the whole file does not replay lines 1-100 (lines without event_id would be appended "
        f"again): send the lines from 101 on (tail -n +101 {path})",
    ]
    assert [len(r.body["events"]) for r in server.requests] == [100, 50]


def test_a_refused_first_batch_says_nothing_was_appended(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.respond = lambda request: problem(403, "tenant_access_denied", "This credential cannot access that tenant.")
    path = write_lines(tmp_path / "events.jsonl", [order(1, event_id=str(uuid.uuid4()))])
    assert run(["--url", server.url, "append", str(path)], capsys)[::2] == (
        1,
        [
            "ves: 403 tenant_access_denied: This credential cannot access that tenant.",
            "ves: the server refused the batch of line 1; nothing of it was appended",
            "ves: nothing was appended before it",
        ],
    )


def test_lines_with_ids_and_times_are_said_to_replay(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.respond = lambda request: (
        ok({"events_accepted": 2, "events_rejected": 0})
        if len(server.requests) == 1
        else problem(400, "mixed_stream", "x")
    )
    timed = [order(n, event_id=str(uuid.uuid4()), created_at="2026-01-01T00:00:00Z") for n in range(4)]
    path = write_lines(tmp_path / "events.jsonl", timed)
    said = run(["--url", server.url, "append", str(path), "--batch-size", "2"], capsys)[2]
    assert said[-1] == "ves: 2 events (lines 1-2) were appended before it; no line after 2 was sent"


def test_a_batch_without_an_answer_may_or_may_not_be_appended(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.respond = lambda request: (
        ok({"events_accepted": 3, "events_rejected": 0}) if len(server.requests) == 1 else None
    )
    path = write_lines(tmp_path / "events.jsonl", [order(n) for n in range(5)])
    status, _, said = run(["--url", server.url, "append", str(path), "--batch-size", "3"], capsys)
    assert status == 1
    assert said[1:3] == [
        "ves: the batch of lines 4-5 got no answer: it may or may not have been appended",
        "ves: 3 events (lines 1-3) were appended before it; no line after 3 was sent",
    ]


def test_a_batch_answered_by_another_services_json_is_not_counted_as_replayed(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 200 JSON answer without the ingest answer's counts (a proxy's, another service's) was
    once read as "every event replayed", exit 0."""
    server.respond = lambda request: ok({"hello": 1})
    path = write_lines(tmp_path / "events.jsonl", [order(n) for n in range(3)])
    status, out, said = run(["--url", server.url, "append", str(path)], capsys)
    assert status == 1
    assert "replayed" not in out
    assert said[:2] == [
        "ves: 200 http_200: not an answer of /api/v1/events/ingest: no field 'events_accepted': {\"hello\": 1}",
        "ves: the batch of lines 1-3 got an answer that is not the API's: it may or may not have been appended",
    ]


def test_a_batch_answered_by_a_page_may_or_may_not_be_appended(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 200 HTML page (a proxy's) is not the server refusing: the batch may be appended behind it."""
    page = (200, "text/html", b"<html><body>Gateway</body></html>")
    server.respond = lambda request: (
        ok({"events_accepted": 3, "events_rejected": 0}) if len(server.requests) == 1 else page
    )
    path = write_lines(tmp_path / "events.jsonl", [order(n) for n in range(5)])
    status, _, said = run(["--url", server.url, "append", str(path), "--batch-size", "3"], capsys)
    assert status == 1
    assert said[:3] == [
        "ves: 200 http_200: non-JSON response (text/html): Gateway",
        "ves: the batch of lines 4-5 got an answer that is not the API's: it may or may not have been appended",
        "ves: 3 events (lines 1-3) were appended before it; no line after 3 was sent",
    ]


def test_a_legacy_batch_ends_where_the_stream_changes(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.respond = lambda request: ok({"events_accepted": len(request.body["events"]), "events_rejected": 0})
    events = [order(0), order(1), order(2, OTHER_STORE), order(3, OTHER_STORE), order(4)]
    path = write_lines(tmp_path / "events.jsonl", events)
    status, printed, _ = run(["--url", server.url, "append", str(path), "--batch-size", "10"], capsys)
    assert (status, json.loads(printed)["accepted"]) == (0, 5)
    assert [len(r.body["events"]) for r in server.requests] == [2, 2, 1]


def test_rejections_name_their_line_and_a_duplicate_id_without_created_at_gets_a_hint(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def respond(request: Request) -> Answer:
        events = request.body["events"]
        rejection = {"event_id": events[1]["event_id"], "reason": "DuplicateEventId", "message": "used"}
        return ok({"events_accepted": 1, "events_rejected": 1, "rejections": [rejection]})

    server.respond = respond
    path = write_lines(tmp_path / "events.jsonl", [order(0), order(1, event_id=str(uuid.uuid4())), order(2)])

    status, printed, said = run(["--url", server.url, "append", str(path)], capsys)

    summary = json.loads(printed)
    assert (status, summary["accepted"], summary["rejected"], summary["replayed"]) == (3, 1, 1, 1)
    assert summary["rejections"][0]["line"] == 2
    assert said == [
        f"ves: hint: {path}:2 has an event_id but no created_at, so each run sends a new created_at and a re-run "
        "is a different event with a used id, not a replay; give every line a created_at to make re-runs safe"
    ]


def test_an_id_the_file_repeats_is_explained_as_such_on_the_first_run(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lines 2 and 4 repeat line 1's id (no created_at anywhere): their rejections name lines 2 and
    4, and the hint speaks of the repeat, not of re-runs (this is the file's first run)."""

    def respond(request: Request) -> Answer:
        events = request.body["events"]
        rejections = [
            {"event_id": events[k]["event_id"], "reason": "DuplicateEventId", "message": "used"} for k in (1, 3)
        ]
        return ok({"events_accepted": 2, "events_rejected": 2, "rejections": rejections})

    server.respond = respond
    shared = str(uuid.uuid4())
    events = [order(0, event_id=shared), order(1, event_id=shared), order(2), order(3, event_id=shared)]
    path = write_lines(tmp_path / "events.jsonl", events)

    status, printed, said = run(["--url", server.url, "append", str(path)], capsys)

    summary = json.loads(printed)
    assert (status, summary["accepted"], summary["rejected"]) == (3, 2, 2)
    assert [r["line"] for r in summary["rejections"]] == [2, 4]
    assert said == [
        f"ves: hint: {path}:2 repeats the event_id of line 1: an event id names one event, so the file's later "
        "lines with it are rejected"
    ]


# --- tail -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("ves_stream", [False, True])
def test_tail_once_from_zero_prints_each_event_once(
    ves_stream: bool, server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    head = 1_203

    def respond(request: Request) -> Answer:
        first = max(int(request.query["from"]), 1)  # the server reads from=0 as 1
        numbers = range(first, min(first + int(request.query["limit"]), head + 1))
        page: list[dict[str, Any]] = [
            {"sequence_number": n} if ves_stream else {"envelope": {"sequence_number": n}} for n in numbers
        ]
        return ok({"events": page, "count": len(page)})

    server.respond = respond
    argv = ["--url", server.url, "tail", *STREAM, "--once", "--from", "0", *(["--ves"] if ves_stream else [])]
    status, printed, _ = run(argv, capsys)

    events = [json.loads(line) for line in printed.splitlines()]
    numbers = [e["sequence_number"] if ves_stream else e["envelope"]["sequence_number"] for e in events]
    assert (status, numbers) == (0, list(range(1, head + 1)))


def test_tail_into_a_closed_pipe_stops_quietly(server: FakeServer) -> None:
    page = [{"envelope": {"sequence_number": n, "payload": "x" * 200}} for n in range(1, 501)]
    server.respond = lambda request: ok({"events": page, "count": 500})
    env = {**os.environ, "PYTHONPATH": str(Path(ves.__file__).resolve().parents[1])}
    argv = [sys.executable, "-m", "ves", "--url", server.url, "tail", *STREAM]  # follows until the pipe closes
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as child:  # noqa: S603
        assert child.stdout is not None
        assert child.stderr is not None
        assert json.loads(child.stdout.readline())["envelope"]["sequence_number"] == 1
        child.stdout.close()  # as `| head -1` does
        err = child.stderr.read()
        status = child.wait(timeout=30)
    assert (status, err) == (EXIT_BROKEN_PIPE, b"")


def test_a_broken_pipe_in_process_is_the_same_status(server: FakeServer) -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    server.respond = lambda request: ok({"events": [{"sequence_number": 1}], "count": 1})
    assert cli_main(["--url", server.url, "tail", *STREAM, "--once", "--ves"], out=Closed()) == EXIT_BROKEN_PIPE


# --- server answers that are not problems ----------------------------------------------------------

NOT_FOUND_PAGE = (
    b"<!doctype html><html lang='en'><head><title>Not Found</title><style>h1{color:red}</style></head>"
    b"<body><h1>Not Found</h1><p>The requested resource was not found on this server.</p></body></html>"
)


def test_an_html_error_page_is_summarized(server: FakeServer, capsys: pytest.CaptureFixture[str]) -> None:
    server.respond = lambda request: (404, "text/html; charset=utf-8", NOT_FOUND_PAGE)
    status, _, said = run(["--url", server.url + "/wrong", "tail", *STREAM, "--once"], capsys)
    assert (status, said) == (
        1,
        ["ves: 404 http_404: non-JSON response (text/html): Not Found The requested resource was not found on this "
         "server."],
    )  # fmt: skip


def test_api_error_keeps_the_body_and_summarizes_it() -> None:
    page = ApiError(502, "<html><body>" + "bad gateway " * 40 + "</body></html>", {"Content-Type": "text/html"})
    assert (page.code, page.title, len(page.detail)) == ("http_502", "non-JSON response (text/html)", 100)
    assert page.detail.startswith("bad gateway bad")
    assert page.detail.endswith("…")
    assert page.body.startswith("<html>")
    proxy = ApiError(429, {"error": "slow down"}, {})
    assert str(proxy) == '429 http_429: non-problem JSON response (no content type): {"error": "slow down"}'
    typed = ApiError(409, {"code": "sequence_gap", "title": "Gap", "detail": "hole at 4"}, {})
    assert (str(typed), typed.title, typed.detail) == ("409 sequence_gap: hole at 4", "Gap", "hole at 4")


def test_a_bundle_written_into_a_missing_directory_is_one_line(
    server: FakeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server.respond = lambda request: ok({"format": "stateset-proof-bundle/1", "event": {}})
    out = tmp_path / "no" / "bundle.json"
    argv = ["--url", server.url, "bundle", str(uuid.uuid4()), "--out", str(out)]
    assert run(argv, capsys)[::2] == (1, [f"ves: {out}: No such file or directory"])


# --- verify: an unreadable bundle is exit 2 --------------------------------------------------------

KEY = ["--sequencer-key", USABLE_KEY]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file or directory"),
        (b"[" * 100_000, "the bundle nests too deeply to be read"),
        (b"\xff", "the bundle is not UTF-8 text"),
        (b"{", "the bundle is not JSON"),
    ],
)
def test_an_unreadable_bundle_is_exit_2(
    content: bytes | None, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bundle.json"
    if content is not None:
        path.write_bytes(content)
    status, printed, said = run(["verify", str(path), *KEY], capsys)
    assert (status, printed, len(said)) == (2, "", 1)
    assert said[0].startswith(f"ves: {path}")
    assert message in said[0]


def test_a_readable_non_bundle_is_rejected_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bundle.json"
    path.write_text("[]")
    assert run(["verify", str(path), *KEY], capsys)[:2] == (1, "FAIL format: not a bundle\nbundle REJECTED: format\n")


def test_a_deep_file_is_refused_even_where_a_library_raised_the_recursion_limit(tmp_path: Path) -> None:
    """py-evm raises the limit to 12,288 on import; the standard decoder then recursed in C past
    the thread's stack on 100,000 ``[`` (a segfault in a test worker), where ves now refuses
    first. Here the limit is raised past the file's depth, so the old reading overflows surely."""
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 100_000)
    program = (
        "import sys; sys.setrecursionlimit(1_000_000); from ves.cli import main; "
        f"sys.exit(main(['verify', {str(deep)!r}, '--sequencer-key', {USABLE_KEY!r}]))"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)  # noqa: S603

    assert done.returncode == 2, (done.returncode, done.stderr[-2000:])
    assert "nests too deeply" in done.stderr


def test_an_unreachable_server_is_named_in_the_error(capsys: pytest.CaptureFixture[str]) -> None:
    with serving(BaseHTTPRequestHandler) as url:
        pass  # the port was just served and is closed now: connections are refused
    status, _, said = run(["--url", url, "--timeout", "1", "tail", *STREAM], capsys)
    assert status == 1
    assert len(said) == 1
    assert f"GET {url}/api/v1/events" in said[0]


def test_help_states_the_default_url_and_ves_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "$VES_URL, else http://127.0.0.1:8080" in text


def test_a_checkpoint_written_into_a_missing_folder_names_the_path_given(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "cp.json"
    with pytest.raises(FileNotFoundError) as error:
        _replace(target, "{}")
    assert error.value.filename == str(target)
