"""The ``ves`` command line (console script ``ves``): keys, appends, stream tails and bundles.

    ves keygen [--agent ID] [--key-id N] [--out agent.json]
    ves register-key --key agent.json --tenant ID
    ves append FILE.jsonl [--batch-size N] [--sign agent.json --tenant ID --store ID]
    ves tail --tenant ID --store ID [--from N] [--ves] [--once] [--interval SECONDS]
    ves bundle EVENT_ID [--legacy] [--tenant ID] [--out BUNDLE.json] [--wait SECONDS]
    ves verify BUNDLE.json --sequencer-key HEX [--sequencer-key HEX …] [--sequencer-id ID]
                                                    (offline: no server, no credential)
    ves checkpoint --tenant ID --store ID [--ves] [--size N] --sequencer-key HEX [--since SAVED.json] [--out FILE]

The server and credential come from ``--url``/``--api-key`` or ``VES_URL``/``VES_API_KEY``.
Output is JSON (one object per line for ``tail``). Every error is reported on stderr as
``ves: …`` (with the problem code when the server refused) and exit status 1; a bad argument
(an id that is not a UUID, a negative number, a key id beyond 2^32-1, a sequencer key of small
order, not canonical or not on the curve) is a usage error, exit status 2. A server answer that
is not the API's (a redirect, a 2xx that is not JSON) is an error like a refusal. ``append``
exits 3 when the server rejected some of the events, ``verify`` 1 when a check fails and 2 when
the bundle or key cannot be read, ``checkpoint`` 1 when the checkpoint or its consistency with
``--since`` fails and 2 when the ``--since`` file cannot be read. When the reader of the output
goes away (``ves tail … | head -1``), the command stops quietly with status 141, as if killed by
SIGPIPE; an idle ``tail`` notices it between polls where poll(2) reports it (Linux does).

``append`` checks every line of its file (``ves.cli_lines``) before it sends anything, so a
malformed file sends nothing; if the server refuses a later batch, it says which file line and
which lines were appended before. A re-run of a file is an exact replay (answered with the
stored receipts, nothing appended twice) only if every line has both ``event_id`` and
``created_at``: otherwise the CLI fills them in afresh (docs/sdk.md, "CLI").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import select
import signal
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import httpx

from ves import ed25519_points as points
from ves.cli_checkpoint import run_checkpoint
from ves.cli_lines import (
    U32_MAX,
    InputError,
    Line,
    batches,
    line_problems,
    read_json_file,
    read_lines,
    refusal,
    summarize_problems,
)
from ves.client import AgentSigner, ClientError, SequencerClient

DEFAULT_URL = "http://127.0.0.1:8080"
TAIL_PAGE = 500
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE  # what a shell reports for a tool SIGPIPE killed
_DUPLICATE_ID_REASONS = frozenset({"duplicate_event_id", "DuplicateEventId"})


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


# --- argument types: their errors are usage errors (exit 2) -----------------------------------


def uuid_argument(text: str) -> str:
    """A UUID written in ASCII, in its canonical form."""
    try:
        if text.isascii():
            return str(uuid.UUID(text))
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(f"{text!r} is not a UUID")


def int_argument(low: int, high: int | None = None) -> Callable[[str], int]:
    """An integer in ``low..high`` (no upper bound when ``high`` is ``None``)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < low or (high is not None and value > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {value}")
        return value

    return parse


def seconds_argument(*, zero: bool) -> Callable[[str], float]:
    """A finite number of seconds, > 0 (or >= 0 when ``zero``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(f"{text} is not {'>= 0' if zero else '> 0'} seconds")
        return value

    return parse


def sequencer_key_argument(text: str) -> bytes:
    """The sequencer's Ed25519 public key: 32 bytes of hex, ``0x`` allowed, that can be trusted at
    all (:func:`unusable_key_reason`): one that cannot is a usage error, not a signature that
    fails to verify."""
    try:
        key = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not hex") from None
    if len(key) != 32:
        raise argparse.ArgumentTypeError(f"the sequencer key must be 32 bytes, got {len(key)}")
    reason = unusable_key_reason(key)
    if reason is not None:
        raise argparse.ArgumentTypeError(f"{key.hex()} is not a usable Ed25519 public key: {reason}")
    return key


def unusable_key_reason(key: bytes) -> str | None:
    """Why a 32-byte Ed25519 public key cannot be trusted at all (``None`` when it can): what the
    checkpoint verifier refuses as a verifier key (``ves.checkpoint``) and libsodium as a
    public key (``ves.ed25519_points``), here said by name before any check runs.

    A point of the curve with a small-order component (no seed gives one either) is not refused
    here: receipts and checkpoints then simply do not verify with it, as with any wrong key."""
    if not points.is_canonical_encoding(key):
        return "not canonical (its y coordinate is not below 2^255 - 19)"
    if points.encodes_small_order_point(key):
        return "a point of small order, which would verify signatures nobody made"
    if points.decode(key) is None:
        return "not a point of the curve"
    return None


def url_argument(text: str) -> str:
    """An ``http://`` or ``https://`` URL with a host."""
    if not re.match(r"^https?://[^/?#\s]+", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not an http:// or https:// URL")
    return text


# --- key files --------------------------------------------------------------------------------


def _signer(path: str) -> AgentSigner:
    """The agent key in ``path`` (written by ``ves keygen --out``), every field checked."""
    data = read_json_file(Path(path), "the key file")
    hint = "(`ves keygen --out FILE` writes one)"
    if not isinstance(data, dict):
        raise InputError(f"{path}: not a key file {hint}")
    for name in ("agentId", "keyId", "seed"):
        if name not in data:
            raise InputError(f"{path}: not a key file: it has no {name!r} {hint}")
    key_id, seed = data["keyId"], data["seed"]
    if not isinstance(data["agentId"], str) or not data["agentId"].isascii():
        raise InputError(f"{path}: agentId is not a UUID")
    if isinstance(key_id, bool) or not isinstance(key_id, int) or not 0 <= key_id <= U32_MAX:
        raise InputError(f"{path}: keyId must be an integer in 0..{U32_MAX}")
    if not isinstance(seed, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", seed):
        raise InputError(f"{path}: seed must be 64 hex digits (the 32-byte Ed25519 seed)")
    try:
        signer = AgentSigner.from_json(data)
    except ValueError:
        raise InputError(f"{path}: agentId is not a UUID") from None
    public = data.get("publicKey")
    if public is not None and (
        not isinstance(public, str) or public.lower().removeprefix("0x") != signer.public_key.hex()
    ):
        raise InputError(f"{path}: publicKey is not the public key of its seed")
    return signer


def _client(args: argparse.Namespace) -> SequencerClient:
    return SequencerClient(args.url, args.api_key, timeout=args.timeout)


# --- commands ---------------------------------------------------------------------------------


def cmd_keygen(args: argparse.Namespace, out: TextIO) -> int:
    signer = AgentSigner.generate(uuid.UUID(args.agent) if args.agent else None, args.key_id)
    text = json.dumps(signer.to_json(), indent=2)
    if not args.out:
        out.write(text + "\n")
        if not out.isatty():
            sys.stderr.write(
                "ves: the key, with its secret seed, went to stdout; --out FILE writes it with mode 0600\n"
            )
        return 0
    path = Path(args.out)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InputError(f"{path} already exists: a key file is never overwritten") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")
    summary = {"agentId": str(signer.agent_id), "keyId": signer.key_id, "publicKey": signer.public_key.hex()}
    out.write(json.dumps({**summary, "file": str(path)}) + "\n")
    return 0


def cmd_register_key(args: argparse.Namespace, out: TextIO) -> int:
    signer = _signer(args.key)
    with _client(args) as client:
        result = client.register_signing_key(args.tenant, signer.agent_id, signer.key_id, signer.public_key)
    out.write(json.dumps(result) + "\n")
    return 0


def cmd_append(args: argparse.Namespace, out: TextIO) -> int:
    path = Path(args.file)
    signer = _signer(args.sign) if args.sign else None
    lines, unreadable = read_lines(path)
    stream = (args.tenant, args.store) if signer is not None else None
    problems = unreadable + [
        (line.number, problem) for line in lines for problem in line_problems(line.event, stream=stream)
    ]
    if problems:
        raise InputError(*summarize_problems(path, sorted(problems, key=lambda numbered: numbered[0])))
    # Every line gets its event id before sending, so the answer's rejections map back to lines.
    named = {line.number for line in lines if line.event.get("event_id")}
    lines = [
        Line(line.number, {**line.event, "event_id": line.event.get("event_id") or str(uuid.uuid4())}) for line in lines
    ]
    progress = Progress(len(lines), sys.stderr)
    appended: list[Line] = []
    counts = {"accepted": 0, "rejected": 0}
    rejections: list[dict[str, Any]] = []
    with _client(args) as client:
        try:
            for batch in batches(lines, args.batch_size, by_stream=signer is None):
                events = [line.event for line in batch]
                try:
                    if signer is not None:
                        result = client.append_signed(signer, args.tenant, args.store, events)
                        accepted, rejected = result.get("eventsAccepted", 0), result.get("eventsRejected", 0)
                    else:
                        result = client.append(events)
                        accepted, rejected = result.get("events_accepted", 0), result.get("events_rejected", 0)
                except (ClientError, httpx.HTTPError) as exc:
                    raise InputError(*refusal(path, exc, batch, appended, named)) from exc
                counts["accepted"] += int(accepted)
                counts["rejected"] += int(rejected)
                rejections.extend(result.get("rejections", []))
                appended.extend(batch)
                progress.update(len(batch))
        finally:
            progress.close()
    _report_rejections(path, lines, rejections)
    replayed = len(lines) - counts["accepted"] - counts["rejected"]
    summary = {"events": len(lines), **counts, "replayed": replayed, "rejections": rejections}
    out.write(json.dumps(summary) + "\n")
    return 0 if counts["rejected"] == 0 else 3


def _report_rejections(path: Path, lines: Sequence[Line], rejections: list[dict[str, Any]]) -> None:
    """Add each rejection's file ``line``, and explain a duplicate id: one the file repeats (the
    rejections of that id name its later lines, in order), or one of a line without created_at."""
    by_id: dict[str, list[Line]] = {}
    for line in lines:
        by_id.setdefault(str(uuid.UUID(str(line.event["event_id"]))), []).append(line)
    later = {event_id: iter(same[1:]) for event_id, same in by_id.items() if len(same) > 1}
    hinted = False
    for rejection in rejections:
        try:
            event_id = str(uuid.UUID(str(rejection.get("event_id"))))
        except ValueError:
            continue
        same = by_id.get(event_id)
        if same is None:
            continue
        line = next(later[event_id], same[-1]) if event_id in later else same[0]
        rejection["line"] = line.number
        if rejection.get("reason") not in _DUPLICATE_ID_REASONS or hinted:
            continue
        if event_id in later:
            hinted = True
            sys.stderr.write(
                f"ves: hint: {path}:{line.number} repeats the event_id of line {same[0].number}: an event id "
                "names one event, so the file's later lines with it are rejected\n"
            )
        elif "created_at" not in line.event:
            hinted = True
            sys.stderr.write(
                f"ves: hint: {path}:{line.number} has an event_id but no created_at, so each run sends a new "
                "created_at and a re-run is a different event with a used id, not a replay; give every line "
                "a created_at to make re-runs safe\n"
            )


def _sequence_number(event: dict[str, Any]) -> int:
    """A page event's sequence number: top level (VES) or in its envelope (legacy)."""
    value = event.get("sequence_number", event.get("envelope", {}).get("sequence_number"))
    return int(value)


def cmd_tail(args: argparse.Namespace, out: TextIO) -> int:
    """Page through the stream, each page continuing after the last sequence number printed; at
    the head, stop (``--once``) or wait ``--interval`` and ask again, until the reader goes away."""
    next_seq = max(args.from_seq, 1)
    with _client(args) as client:
        while True:
            page = client.events(args.tenant, args.store, from_seq=next_seq, limit=TAIL_PAGE, ves=args.ves)
            for event in page:
                out.write(json.dumps(event) + "\n")
            out.flush()
            if page:
                next_seq = _sequence_number(page[-1]) + 1
            if len(page) < TAIL_PAGE:
                if args.once:
                    return 0
                if _reader_left_while_waiting(out, args.interval):
                    raise BrokenPipeError  # as a write would say, without waiting for an event


def _reader_left_while_waiting(out: TextIO, seconds: float) -> bool:
    """Wait ``seconds``, or less if the reader of ``out`` goes away meanwhile: ``True`` then.

    poll(2) reports POLLERR on a pipe whose reader has closed it (Linux; POLLHUP on a socket or
    a hung-up terminal), so an idle ``ves tail … | head -1`` stops within ``--interval`` of
    ``head`` exiting, as a write would make it at the next event. Where ``out`` has no file
    descriptor (a test's StringIO) or the platform has no poll, this only sleeps."""
    try:
        fd = out.fileno()
        watch = select.poll()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both of the last two
        time.sleep(seconds)
        return False
    watch.register(fd, select.POLLERR | select.POLLHUP)
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        events = watch.poll(max(1, math.ceil(left * 1000)))
        if any(mask & (select.POLLERR | select.POLLHUP) for _, mask in events):
            return True
        if events:  # POLLNVAL: not an open descriptor; the next write will say so
            time.sleep(max(left, 0))
            return False
    return False


def cmd_checkpoint(args: argparse.Namespace, out: TextIO) -> int:
    """Fetch, verify and (with ``--since``) check the consistency of a signed checkpoint
    (``ves.cli_checkpoint``)."""
    with _client(args) as client:
        return run_checkpoint(client, args, out)


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


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    """One line per check (``PASS name``, ``NOTE name: what is not verified`` or ``FAIL name:
    reason``); exit 0 verified, 1 rejected, 2 unreadable. ``--sequencer-key`` may be given
    several times (the keys trusted across a rotation): a signature by any of them counts, and
    a passed signature check names the key (``PASS receipt_signature: by key HEX``)."""
    from ves.bundle import verify_bundle

    try:
        bundle = read_json_file(Path(args.bundle), "the bundle")
    except (InputError, OSError) as exc:
        sys.stderr.write(f"ves: {_error_text(exc)}\n")
        return 2
    sequencer_id = uuid.UUID(args.sequencer_id) if args.sequencer_id else None
    results = verify_bundle(bundle, args.sequencer_key, sequencer_id=sequencer_id)
    for result in results:
        if not result.ok:
            out.write(f"FAIL {result.name}: {result.detail}\n")
        elif not result.verified:
            out.write(f"NOTE {result.name}: {result.detail}\n")
        elif result.keys:
            label = "key" if len(result.keys) == 1 else "keys"
            out.write(f"PASS {result.name}: by {label} {', '.join(key.hex() for key in result.keys)}\n")
        else:
            out.write(f"PASS {result.name}\n")
    failed = [r.name for r in results if not r.ok]
    unverified = [r.name for r in results if r.ok and not r.verified]
    if failed:
        out.write(f"bundle REJECTED: {', '.join(failed)}\n")
    elif unverified:
        out.write(f"bundle verified, except what it claims and cannot be checked offline: {', '.join(unverified)}\n")
    else:
        out.write("bundle verified\n")
    return 0 if not failed else 1


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="ves", description="StateSet Sequencer client")
    root.add_argument(
        "--url",
        type=url_argument,
        default=os.environ.get("VES_URL", DEFAULT_URL),
        help=f"server base URL (default: $VES_URL, else {DEFAULT_URL})",
    )
    root.add_argument("--api-key", default=os.environ.get("VES_API_KEY"), help="API key (VES_API_KEY)")
    root.add_argument("--timeout", type=seconds_argument(zero=False), default=10.0, help="seconds per attempt")
    commands = root.add_subparsers(dest="command", required=True)

    keygen = commands.add_parser(
        "keygen",
        help="new Ed25519 agent signing key (JSON with the secret seed)",
        description="Prefer --out FILE: it writes the key with mode 0600. Without it the key, seed included, "
        "goes to stdout (a shell redirect would leave it readable by others).",
    )
    keygen.add_argument("--agent", type=uuid_argument, help="agent id (default: a new UUID)")
    keygen.add_argument("--key-id", type=int_argument(0, U32_MAX), default=1, help=f"0..{U32_MAX} (default 1)")
    keygen.add_argument("--out", help="write the key file here (mode 0600, never overwritten)")
    keygen.set_defaults(run=cmd_keygen)

    register = commands.add_parser("register-key", help="register a key file's public key (tenant admin)")
    register.add_argument("--key", required=True, help="key file from `ves keygen --out`")
    register.add_argument("--tenant", type=uuid_argument, required=True)
    register.set_defaults(run=cmd_register_key)

    append = commands.add_parser(
        "append",
        help="append the events of a JSON-lines file, in batches",
        description="FILE holds one event object per line. Every line is checked before anything is sent. "
        "Lines without event_id or created_at get fresh ones on each run, so a re-run of the file is an exact "
        "replay (nothing appended twice) only if every line has both; a line with an event_id but no created_at "
        "is rejected as duplicate_event_id the second time.",
    )
    append.add_argument("file", help="JSON lines: legacy events, or with --sign the events to sign")
    append.add_argument("--batch-size", type=int_argument(1), default=100)
    append.add_argument("--sign", help="key file: sign the events as VES v1 (needs --tenant, --store)")
    append.add_argument("--tenant", type=uuid_argument, help="with --sign: the stream's tenant")
    append.add_argument("--store", type=uuid_argument, help="with --sign: the stream's store")
    append.set_defaults(run=cmd_append)

    tail = commands.add_parser("tail", help="print a stream's events as JSON lines, following new ones")
    tail.add_argument("--tenant", type=uuid_argument, required=True)
    tail.add_argument("--store", type=uuid_argument, required=True)
    tail.add_argument("--from", dest="from_seq", type=int_argument(0), default=1, help="first sequence number")
    tail.add_argument("--ves", action="store_true", help="the VES stream instead of the legacy one")
    tail.add_argument("--once", action="store_true", help="stop at the current head")
    tail.add_argument("--interval", type=seconds_argument(zero=False), default=1.0, help="poll interval in seconds")
    tail.set_defaults(run=cmd_tail)

    bundle = commands.add_parser("bundle", help="fetch an event's offline proof bundle (for `ves verify`)")
    bundle.add_argument("event_id", type=uuid_argument)
    bundle.add_argument("--legacy", action="store_true", help="a legacy event instead of a VES one")
    bundle.add_argument("--tenant", type=uuid_argument, help="tenant id (needed with the bootstrap admin key)")
    bundle.add_argument("--out", help="write the bundle JSON here instead of stdout")
    bundle.add_argument(
        "--wait",
        type=seconds_argument(zero=True),
        default=0.0,
        metavar="SECONDS",
        help="while the event is not sealed into a commitment yet (409), ask again for up to SECONDS",
    )
    bundle.set_defaults(run=cmd_bundle)

    verify = commands.add_parser("verify", help="verify an offline proof bundle (no server needed)")
    verify.add_argument("bundle", help="path of the bundle JSON (from GET .../events/{id}/bundle)")
    verify.add_argument(
        "--sequencer-key",
        type=sequencer_key_argument,
        action="append",
        required=True,
        metavar="HEX",
        help="a trusted sequencer Ed25519 public key, hex; repeat it to trust several (the current and the "
        "previous key across a key rotation): a signature by any of them counts",
    )
    verify.add_argument(
        "--sequencer-id", type=uuid_argument, help="the sequencer's id (VES_SEQUENCER_ID): receipts must name it"
    )
    verify.set_defaults(run=cmd_verify)

    checkpoint = commands.add_parser(
        "checkpoint",
        help="fetch and verify a stream's signed log checkpoint; with --since, check it extends a saved one",
        description="Verifies the checkpoint's signature with the trusted keys and that it names the stream. With "
        "--since SAVED.json (written by an earlier --out), also fetches the consistency proof from the saved size "
        "to the new one and checks it between the two signed roots: exit 1 when the log does not extend the saved "
        "one. Only a verified checkpoint is written (--out, else stdout).",
    )
    checkpoint.add_argument("--tenant", type=uuid_argument, required=True)
    checkpoint.add_argument("--store", type=uuid_argument, required=True)
    checkpoint.add_argument("--ves", action="store_true", help="the VES stream's log instead of the legacy one")
    checkpoint.add_argument(
        "--size", type=int_argument(1), metavar="N", help="the checkpoint signed at tree size N (default: the latest)"
    )
    checkpoint.add_argument(
        "--sequencer-key",
        type=sequencer_key_argument,
        action="append",
        required=True,
        metavar="HEX",
        help="a trusted sequencer Ed25519 public key, hex; repeat it to trust several (a key rotation)",
    )
    checkpoint.add_argument(
        "--since", metavar="SAVED.json", help="a checkpoint saved by --out: the new one must extend it"
    )
    checkpoint.add_argument("--out", metavar="FILE", help="write the verified checkpoint here (replaced whole)")
    checkpoint.set_defaults(run=cmd_checkpoint)
    return root


def _error_text(exc: BaseException) -> str:
    """One line (or several, for :class:`InputError`) saying what went wrong, without a traceback."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename is not None else exc.strerror
    if isinstance(exc, KeyError):
        return f"no field {exc.args[0]!r}" if exc.args else "a field is missing"
    if isinstance(exc, RecursionError):
        return "the input nests too deeply"
    return str(exc) or type(exc).__name__


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's last flush says nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    arguments = parser()
    args = arguments.parse_args(argv)
    if args.command == "append" and args.sign and not (args.tenant and args.store):
        arguments.error("append --sign needs --tenant and --store")
    if args.command == "append" and not args.sign and (args.tenant or args.store):
        arguments.error("append: --tenant and --store go with --sign (legacy lines name their own stream)")
    stream = out or sys.stdout
    try:
        return int(args.run(args, stream))
    except InputError as exc:
        sys.stderr.writelines(f"ves: {line}\n" for line in exc.lines)
    except (ClientError, TimeoutError) as exc:  # TimeoutError: bundle --wait ran out
        sys.stderr.write(f"ves: {exc}\n")
    except BrokenPipeError:
        if stream is sys.stdout:
            _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except (OSError, ValueError, KeyError, RecursionError, httpx.HTTPError, httpx.InvalidURL) as exc:
        sys.stderr.write(f"ves: {_error_text(exc)}\n")
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
