"""``python -m ves verify BUNDLE.json --sequencer-key HEX``: check a proof bundle offline.

Prints one line per check (``PASS name`` or ``FAIL name: reason``) and exits 0 when every
check passes, 1 when one fails, 2 when the file or key cannot be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from ves.bundle import verify_bundle


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ves", description="VES tools that need no server.")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="verify an offline proof bundle")
    verify.add_argument("bundle", help="path of the bundle JSON (from GET .../events/{id}/bundle)")
    verify.add_argument("--sequencer-key", required=True, help="the sequencer's Ed25519 public key, hex")
    args = parser.parse_args(argv)
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
        sys.stdout.write(f"PASS {result.name}\n" if result.ok else f"FAIL {result.name}: {result.detail}\n")
    failed = [r.name for r in results if not r.ok]
    sys.stdout.write("bundle verified\n" if not failed else f"bundle REJECTED: {', '.join(failed)}\n")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
