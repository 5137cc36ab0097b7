"""The ``ves`` command line (console script ``ves``): keys, appends and stream tails.

    ves keygen [--agent ID] [--key-id N] [--out agent.json]
    ves register-key --key agent.json --tenant ID
    ves append FILE.jsonl [--batch-size N] [--sign agent.json --tenant ID --store ID]
    ves tail --tenant ID --store ID [--from N] [--ves] [--once]
    ves bundle EVENT_ID [--legacy] [--tenant ID] [--out BUNDLE.json] [--wait SECONDS]
    ves verify BUNDLE.json --sequencer-key HEX        (offline: no server, no credential)

The server and credential come from ``--url``/``--api-key`` or ``VES_URL``/``VES_API_KEY``.
Output is JSON (one object per line for ``tail``); errors go to stderr with the problem code
and exit status 1 (2 for usage errors).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from ves.client import AgentSigner, ApiError, ClientError, SequencerClient

DEFAULT_URL = "http://127.0.0.1:8080"


class Progress:
    """A one-line progress bar on a terminal (a final summary line otherwise)."""

    def __init__(self, total: int, stream: TextIO, label: str = "events") -> None:
        self.total, self.done, self.stream, self.label = total, 0, stream, label
        self.started = time.monotonic()
        self.interactive = stream.isatty()

    def update(self, count: int) -> None:
        self.done += count
        if self.interactive:
            self._draw("\r")

    def close(self) -> None:
        self._draw("\r" if self.interactive else "")
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self, prefix: str) -> None:
        width = 30
        filled = width * self.done // self.total if self.total else width
        elapsed = max(time.monotonic() - self.started, 1e-9)
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"{prefix}[{bar}] {self.done}/{self.total} {self.label} ({self.done / elapsed:.0f}/s)")
        self.stream.flush()


def _client(args: argparse.Namespace) -> SequencerClient:
    return SequencerClient(args.url, args.api_key, timeout=args.timeout)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"{path}:{number}: not JSON: {exc}") from exc
            if not isinstance(event, dict):
                raise SystemExit(f"{path}:{number}: each line must be a JSON object")
            events.append(event)
    return events


def _chunks(items: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def cmd_keygen(args: argparse.Namespace, out: TextIO) -> int:
    signer = AgentSigner.generate(uuid.UUID(args.agent) if args.agent else None, args.key_id)
    text = json.dumps(signer.to_json(), indent=2)
    if args.out:
        path = Path(args.out)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(text + "\n")
        out.write(
            json.dumps(
                {
                    "agentId": str(signer.agent_id),
                    "keyId": signer.key_id,
                    "publicKey": signer.public_key.hex(),
                    "file": str(path),
                }
            )
            + "\n"
        )
    else:
        out.write(text + "\n")
    return 0


def _signer(path: str) -> AgentSigner:
    return AgentSigner.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def cmd_register_key(args: argparse.Namespace, out: TextIO) -> int:
    signer = _signer(args.key)
    with _client(args) as client:
        result = client.register_signing_key(args.tenant, signer.agent_id, signer.key_id, signer.public_key)
    out.write(json.dumps(result) + "\n")
    return 0


def cmd_append(args: argparse.Namespace, out: TextIO) -> int:
    events = _read_jsonl(Path(args.file))
    signer = _signer(args.sign) if args.sign else None
    if signer is not None and not (args.tenant and args.store):
        raise SystemExit("--sign needs --tenant and --store")
    progress = Progress(len(events), sys.stderr)
    accepted = rejected = 0
    rejections: list[Any] = []
    with _client(args) as client:
        for chunk in _chunks(events, args.batch_size):
            if signer is not None:
                result = client.append_signed(signer, args.tenant, args.store, chunk)
                accepted += int(result.get("eventsAccepted", 0))
                rejected += int(result.get("eventsRejected", 0))
            else:
                result = client.append(chunk)
                accepted += int(result.get("events_accepted", 0))
                rejected += int(result.get("events_rejected", 0))
            rejections.extend(result.get("rejections", []))
            progress.update(len(chunk))
    progress.close()
    out.write(
        json.dumps({"events": len(events), "accepted": accepted, "rejected": rejected, "rejections": rejections}) + "\n"
    )
    return 0 if rejected == 0 else 3


def cmd_tail(args: argparse.Namespace, out: TextIO) -> int:
    with _client(args) as client:
        if args.once:
            next_seq = args.from_seq
            while True:
                page = client.events(args.tenant, args.store, from_seq=next_seq, limit=500, ves=args.ves)
                for event in page:
                    out.write(json.dumps(event) + "\n")
                next_seq += len(page)
                if len(page) < 500:
                    return 0
        for event in client.tail(
            args.tenant, args.store, from_seq=args.from_seq, ves=args.ves, poll_interval=args.interval
        ):
            out.write(json.dumps(event) + "\n")
            out.flush()
    return 0  # pragma: no cover  (follows until interrupted)


def cmd_bundle(args: argparse.Namespace, out: TextIO) -> int:
    """Fetch an event's offline proof bundle (for ``ves verify``) to ``--out`` or stdout."""
    with _client(args) as client:
        if args.wait > 0:
            bundle = client.wait_for_bundle(
                args.event_id, tenant_id=args.tenant, ves=not args.legacy, timeout=args.wait
            )
        else:
            bundle = client.bundle(args.event_id, tenant_id=args.tenant, ves=not args.legacy)
    text = json.dumps(bundle, indent=2, sort_keys=True) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        out.write(json.dumps({"eventId": args.event_id, "out": args.out}) + "\n")
    else:
        out.write(text)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ves", description="StateSet Sequencer client")
    root.add_argument("--url", default=os.environ.get("VES_URL", DEFAULT_URL), help="server base URL (VES_URL)")
    root.add_argument("--api-key", default=os.environ.get("VES_API_KEY"), help="API key (VES_API_KEY)")
    root.add_argument("--timeout", type=float, default=10.0, help="seconds per attempt")
    commands = root.add_subparsers(dest="command", required=True)

    keygen = commands.add_parser("keygen", help="new Ed25519 agent signing key (JSON with the secret seed)")
    keygen.add_argument("--agent", help="agent id (default: a new UUID)")
    keygen.add_argument("--key-id", type=int, default=1)
    keygen.add_argument("--out", help="write the key file here (mode 0600, never overwritten)")
    keygen.set_defaults(run=cmd_keygen)

    register = commands.add_parser("register-key", help="register a key file's public key (tenant admin)")
    register.add_argument("--key", required=True, help="key file from `ves keygen --out`")
    register.add_argument("--tenant", required=True)
    register.set_defaults(run=cmd_register_key)

    append = commands.add_parser("append", help="append the events of a JSON-lines file, in batches")
    append.add_argument("file")
    append.add_argument("--batch-size", type=int, default=100)
    append.add_argument("--sign", help="key file: sign the events as VES v1 (needs --tenant, --store)")
    append.add_argument("--tenant")
    append.add_argument("--store")
    append.set_defaults(run=cmd_append)

    tail = commands.add_parser("tail", help="print a stream's events as JSON lines, following new ones")
    tail.add_argument("--tenant", required=True)
    tail.add_argument("--store", required=True)
    tail.add_argument("--from", dest="from_seq", type=int, default=1)
    tail.add_argument("--ves", action="store_true", help="the VES stream instead of the legacy one")
    tail.add_argument("--once", action="store_true", help="stop at the current head")
    tail.add_argument("--interval", type=float, default=1.0, help="poll interval in seconds")
    tail.set_defaults(run=cmd_tail)

    bundle = commands.add_parser("bundle", help="fetch an event's offline proof bundle (for `ves verify`)")
    bundle.add_argument("event_id")
    bundle.add_argument("--legacy", action="store_true", help="a legacy event instead of a VES one")
    bundle.add_argument("--tenant", help="tenant id (needed with the bootstrap admin key)")
    bundle.add_argument("--out", help="write the bundle JSON here instead of stdout")
    bundle.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="while the event is not sealed into a commitment yet (409), ask again for up to SECONDS",
    )
    bundle.set_defaults(run=cmd_bundle)

    verify = commands.add_parser("verify", help="verify an offline proof bundle (no server needed)")
    verify.add_argument("bundle", help="path of the bundle JSON (from GET .../events/{id}/bundle)")
    verify.add_argument("--sequencer-key", required=True, help="the sequencer's Ed25519 public key, hex")
    verify.set_defaults(run=cmd_verify)
    return root


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    """One line per check (``PASS name`` / ``FAIL name: reason``); exit 0 verified, 1 rejected, 2 unreadable."""
    from ves.bundle import verify_bundle

    try:
        key = bytes.fromhex(args.sequencer_key.removeprefix("0x"))
        if len(key) != 32:
            raise ValueError("the sequencer key must be 32 bytes")
        with open(args.bundle, encoding="utf-8") as handle:
            bundle = json.load(handle)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    results = verify_bundle(bundle, key)
    for result in results:
        out.write(f"PASS {result.name}\n" if result.ok else f"FAIL {result.name}: {result.detail}\n")
    failed = [r.name for r in results if not r.ok]
    out.write("bundle verified\n" if not failed else f"bundle REJECTED: {', '.join(failed)}\n")
    return 0 if not failed else 1


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "batch_size", 1) < 1:
        raise SystemExit("--batch-size must be >= 1")
    try:
        return int(args.run(args, out or sys.stdout))
    except ApiError as exc:
        sys.stderr.write(f"ves: {exc.status} {exc.code}: {exc.detail or exc.title}\n")
        return 1
    except (ClientError, TimeoutError) as exc:  # TimeoutError: bundle --wait ran out
        sys.stderr.write(f"ves: {exc}\n")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
