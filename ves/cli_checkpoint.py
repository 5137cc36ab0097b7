"""``ves checkpoint``: fetch a stream's signed log checkpoint, verify it, and check that it extends
the one saved from an earlier run (``docs/sdk.md``, "CLI"; ``docs/proofs.md`` §4).

    ves checkpoint --tenant ID --store ID [--ves] [--size N] --sequencer-key HEX [--sequencer-key HEX …]
                   [--since SAVED.json] [--out NEW.json]

The checkpoint must be signed by a trusted key and name the stream (``ves.client_log``). With
``--since``, the saved checkpoint is verified the same way, then the consistency proof from its
size to the new one's is fetched and checked between the two signed roots: a log that does not
extend the saved one (a split view, a rewritten history) fails. Only a checkpoint that passed is
written, to ``--out`` (replaced whole, so ``--since cp.json --out cp.json`` keeps the newest
verified one) or to stdout. Exit 0 verified, 1 when a check fails or the server refuses, 2 when
the ``--since`` file cannot be read as a saved checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from ves.checkpoint import SignedCheckpoint
from ves.cli_lines import InputError, read_json_file
from ves.client import SequencerClient
from ves.client_log import LogCheckError, check_checkpoint, check_consistency, check_extends

__all__ = ["run_checkpoint"]


def run_checkpoint(client: SequencerClient, args: argparse.Namespace, out: TextIO) -> int:
    """The ``checkpoint`` command against ``client``; see the module docstring."""
    stream = {"tenant_id": args.tenant, "store_id": args.store, "ves": args.ves}
    saved: SignedCheckpoint | None = None
    if args.since:
        try:
            answer = read_json_file(Path(args.since), "the saved checkpoint")
        except (InputError, OSError) as exc:
            sys.stderr.write(f"ves: {_error_text(exc)}\n")
            return 2
        if not isinstance(answer, dict) or not isinstance(answer.get("checkpoint"), str):
            sys.stderr.write(f"ves: {args.since}: not a saved checkpoint (`ves checkpoint --out FILE` writes one)\n")
            return 2
        try:
            saved = check_checkpoint(answer, args.sequencer_key, **stream)
        except LogCheckError as exc:
            sys.stderr.write(f"ves: {args.since}: {exc}\n")
            return 1
    answer = client.checkpoint(args.tenant, args.store, tree_size=args.size, ves=args.ves)
    try:
        new = check_checkpoint(answer, args.sequencer_key, **stream, tree_size=args.size)
        if saved is not None:
            check_extends(saved, new)
            proof = client.consistency_proof(
                args.tenant, args.store, saved.checkpoint.tree_size, new.checkpoint.tree_size, ves=args.ves
            )
            check_consistency(saved, new, proof)
    except LogCheckError as exc:
        sys.stderr.write(f"ves: {exc}\n")
        return 1
    text = json.dumps(answer, indent=2, sort_keys=True) + "\n"
    if not args.out:
        out.write(text)
        return 0
    _replace(Path(args.out), text)
    summary: dict[str, Any] = {
        "origin": new.checkpoint.origin,
        "treeSize": new.checkpoint.tree_size,
        "rootHash": new.checkpoint.root_hash.hex(),
        "verifiedBy": [key.hex() for key in new.verified_by],
        "consistentWith": None if saved is None else saved.checkpoint.tree_size,
        "out": args.out,
    }
    out.write(json.dumps(summary) + "\n")
    return 0


def _replace(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a crash mid-write must not lose the saved checkpoint."""
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115  (closed before the rename, removed on failure)
            "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False
        )
    except OSError as exc:  # the temporary file's name means nothing to the caller: name the path given
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        with handle:
            handle.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(handle.name, 0o666 & ~umask)  # as open() would create it, not the temporary file's 0600
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


def _error_text(exc: Exception) -> str:
    if isinstance(exc, InputError):
        return "; ".join(exc.lines)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename is not None else exc.strerror
    return str(exc)
